"""Per-request context: the correlation id and the caller, for handlers and logs. Pure.

Both live in contextvars set by the correlation-id middleware and the auth
dependency (or by a DeploymentHandle call that passes a `Caller` along).
`RequestContextFilter` stamps every log record of the request with them.
"""

import contextvars
import logging

from contracts.identity import Caller

SERVE_LOGGER = "ray.serve"
CORRELATION_HEADER = "X-Correlation-ID"

correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")
current_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("current_caller", default=None)


def replica_logger(name: str) -> logging.Logger:
    """A logger whose records reach Serve's (JSON) replica log handlers."""
    return logging.getLogger(f"{SERVE_LOGGER}.{name}")


def current_correlation_id() -> str:
    """The request's correlation id. Handlers call this rather than touching the
    ContextVar: Serve pickles ingress methods by value, and a ContextVar cannot be pickled."""
    return correlation_id.get()


class RequestContextFilter(logging.Filter):
    """Stamp every log record with the request's correlation id, caller and `X-Service`."""

    def filter(self, record: logging.LogRecord) -> bool:
        caller = current_caller.get()
        record.correlation_id = correlation_id.get()
        record.caller = f"{caller.service}/{caller.role.value}" if caller else ""
        record.x_service = (caller.declared_service or "") if caller else ""
        return True


def stamp_serve_logs() -> None:
    """Attach the request context to every record of Serve's log handlers (idempotent)."""
    for handler in logging.getLogger(SERVE_LOGGER).handlers:
        if not any(isinstance(f, RequestContextFilter) for f in handler.filters):
            handler.addFilter(RequestContextFilter())
