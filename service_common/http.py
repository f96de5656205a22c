"""HTTP conventions of every service: one error envelope, correlation ids.

Every error body is `{"error": {"type", "message", "details"}}`. Validation
errors are `422` and name each field (`task.type: Field required`);
unexpected exceptions are logged with their trace and answered `500` with no
trace. The API speaks JSON only: a body sent as a form (what `curl -d` does
by default) is read as JSON. `X-Correlation-ID` is taken from the request (or generated), echoed on
the response, and available to handlers and log lines through a contextvar.
`X-Replica-ID` names the Serve replica that answered.

Authentication: `require_service` and `require_admin` are FastAPI
dependencies that turn the bearer token into a `Caller` (401 when missing,
invalid or expired, 403 when the role is not enough). Every deployment calls
`configure_auth()` when it starts, which fails (and so stops the deployment)
when no secret is configured outside development mode. The caller and the
correlation id are attached to every log record of the request.
"""

import contextvars
import functools
import logging
import re
import uuid
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from ray import serve
from ray.serve.exceptions import RayServeException
from starlette.exceptions import HTTPException as StarletteHTTPException

from service_common.auth import AuthSettings, Caller, Role, TokenAuthority, TokenError, authority_from_settings

SERVE_LOGGER = "ray.serve"


def replica_logger(name: str) -> logging.Logger:
    """A logger whose records reach Serve's (JSON) replica log handlers."""
    return logging.getLogger(f"{SERVE_LOGGER}.{name}")


logger = replica_logger(__name__)

CORRELATION_HEADER = "X-Correlation-ID"
correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")
current_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("current_caller", default=None)
DEV_CALLER = Caller("local-dev", Role.ADMIN)


def current_correlation_id() -> str:
    """The request's correlation id. Handlers call this rather than touching the
    ContextVar: Serve pickles ingress methods by value, and a ContextVar cannot be pickled."""
    return correlation_id.get()


_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class ApiError(Exception):
    """An error with a status code and a typed body; raised by handlers."""

    def __init__(
        self,
        status_code: int,
        error_type: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_type = error_type
        self.message = message
        self.details = details
        self.headers = headers


def error_response(
    status_code: int, error_type: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"type": error_type, "message": message, "details": details}}
    return JSONResponse(body, status_code=status_code, headers=headers)


def validation_error(problems: list[tuple[str, str]]) -> ApiError:
    """A 422 naming each `(field, problem)`."""
    message = "; ".join(f"{field}: {problem}" for field, problem in problems)
    details = [{"field": field, "problem": problem} for field, problem in problems]
    return ApiError(422, "ValidationError", message, details)


def _field_of(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts) or "body"


async def on_validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    problems = [(_field_of(tuple(e["loc"])), e["msg"]) for e in error.errors()]
    raised = validation_error(problems)
    return error_response(422, raised.error_type, raised.message, raised.details)


async def on_api_error(request: Request, error: ApiError) -> JSONResponse:
    return error_response(error.status_code, error.error_type, error.message, error.details, error.headers)


async def on_http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    error_type = "PayloadTooLarge" if error.status_code == 413 else "HTTPError"
    return error_response(error.status_code, error_type, str(error.detail), headers=error.headers)


async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
    # Starlette runs this outside every middleware, after the contextvar was reset:
    # the correlation id travels in the request's state instead.
    request_id = getattr(request.state, "correlation_id", "")
    correlation_id.set(request_id)
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(
        500, "InternalError", "internal error; see the service log", {"correlation_id": request_id},
        headers={CORRELATION_HEADER: request_id} if request_id else None,
    )


class _Auth:
    """The token authority of this process, set once by `configure_auth`."""

    authority: TokenAuthority | None = None
    configured = False


def configure_replica(settings: AuthSettings | None = None) -> None:
    """Call from every deployment's constructor: authentication and log context.
    Raises, so the deployment does not start, when no token secret is configured."""
    _Auth.authority = authority_from_settings(settings or AuthSettings())
    _Auth.configured = True
    if _Auth.authority is None:
        logger.warning("ROUTING_DEV_MODE without a token secret: requests are NOT authenticated")
    for handler in logging.getLogger(SERVE_LOGGER).handlers:
        if not any(isinstance(f, RequestContextFilter) for f in handler.filters):
            handler.addFilter(RequestContextFilter())


def _authenticate(request: Request, needed: Role) -> Caller:
    if not _Auth.configured:
        raise ApiError(503, "NotReady", "authentication is not configured yet")
    header = request.headers.get("authorization", "")
    declared = request.headers.get("x-service")
    if _Auth.authority is None:
        caller = DEV_CALLER
    else:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "Unauthorized", "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        try:
            caller = _Auth.authority.verify(token.strip())
        except TokenError as error:
            raise ApiError(401, "Unauthorized", str(error), headers={"WWW-Authenticate": "Bearer"}) from error
    if not caller.may(needed):
        raise ApiError(403, "Forbidden", f"this route needs the {needed.value} role")
    caller = Caller(caller.service, caller.role, correlation_id.get(), declared)
    current_caller.set(caller)
    return caller


async def _require_service(request: Request) -> Caller:
    return _authenticate(request, Role.SERVICE)


async def _require_admin(request: Request) -> Caller:
    return _authenticate(request, Role.ADMIN)


require_service = Depends(_require_service)
require_admin = Depends(_require_admin)


def caller_of(value: object) -> Caller:
    """The caller of a route method: the authenticated one over HTTP, the one passed
    along on a DeploymentHandle call, or an in-cluster caller when none was passed."""
    if isinstance(value, Caller):
        current_caller.set(value)
        if value.correlation_id:
            correlation_id.set(value.correlation_id)
        return value
    return Caller("in-cluster", Role.ADMIN, correlation_id.get())


class RequestContextFilter(logging.Filter):
    """Stamp every log record with the request's correlation id and caller."""

    def filter(self, record: logging.LogRecord) -> bool:
        caller = current_caller.get()
        record.correlation_id = correlation_id.get()
        record.caller = f"{caller.service}/{caller.role.value}" if caller else ""
        return True


def install_http_conventions(app: FastAPI) -> None:
    # Module-level handlers: Serve pickles the app, and these pickle by reference.
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
    app.add_middleware(CorrelationIdMiddleware)
    app.add_middleware(JsonBodyMiddleware)
    app.add_middleware(BodyLimitMiddleware)


@functools.cache
def _replica_id() -> bytes:
    try:
        return serve.get_replica_context().replica_id.unique_id.encode()
    except RayServeException:  # not inside a replica (e.g. a test client of the bare app)
        return b"none"


class HttpMiddleware:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path) that
    concerns HTTP requests only; everything else passes straight through."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await self.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def handle(self, scope: dict, receive: Any, send: Any) -> None:
        raise NotImplementedError


class CorrelationIdMiddleware(HttpMiddleware):
    async def handle(self, scope: dict, receive: Any, send: Any) -> None:
        incoming = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"x-correlation-id"), ""
        )
        value = incoming if _ACCEPTABLE_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["correlation_id"] = value
        token = correlation_id.set(value)

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-correlation-id", value.encode()),
                    (b"x-replica-id", _replica_id()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            correlation_id.reset(token)


class JsonBodyMiddleware(HttpMiddleware):
    """Relabel form-encoded bodies as JSON: no route of ours takes a form."""

    async def handle(self, scope: dict, receive: Any, send: Any) -> None:
        if any(
            k == b"content-type" and v.startswith(b"application/x-www-form-urlencoded")
            for k, v in scope["headers"]
        ):
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
        await self.app(scope, receive, send)


MAX_BODY_BYTES = 4 * 1024 * 1024  # the largest legitimate body, 10,000 manifests, is ~1.5 MiB


class BodyLimitMiddleware(HttpMiddleware):
    """Refuse bodies over MAX_BODY_BYTES with 413: by Content-Length before reading,
    and while reading for bodies that do not declare their length. (FastAPI's own
    `max_body_size` answers Starlette's plain-text 413, not this project's JSON error.)"""

    async def handle(self, scope: dict, receive: Any, send: Any) -> None:
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"0")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            response = error_response(413, "PayloadTooLarge", _TOO_LARGE)
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> dict:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > MAX_BODY_BYTES:
                # FastAPI re-raises HTTPException from body reading; anything else becomes a 400
                raise HTTPException(status_code=413, detail=_TOO_LARGE)
            return message

        await self.app(scope, counting_receive, send)


_TOO_LARGE = f"the body exceeds {MAX_BODY_BYTES} bytes"
