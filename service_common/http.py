"""HTTP conventions of every service: one error envelope, correlation ids.

Every error body is `{"error": {"type", "message", "details"}}`. Validation
errors are `422` and name each field (`task.type: Field required`);
unexpected exceptions are logged with their trace and answered `500` with no
trace. The API speaks JSON only: a body sent as a form (what `curl -d` does
by default) is read as JSON. `X-Correlation-ID` is taken from the request (or generated), echoed on
the response, and available to handlers and log lines through a contextvar.
`X-Replica-ID` names the Serve replica that answered.
"""

import contextvars
import functools
import logging
import re
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from ray import serve
from ray.serve.exceptions import RayServeException
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

CORRELATION_HEADER = "X-Correlation-ID"
correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")


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
    return error_response(error.status_code, "HTTPError", str(error.detail), headers=error.headers)


async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(
        500, "InternalError", "internal error; see the service log", {"correlation_id": correlation_id.get()}
    )


def install_http_conventions(app: FastAPI) -> None:
    # Module-level handlers: Serve pickles the app, and these pickle by reference.
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
    app.add_middleware(CorrelationIdMiddleware)
    app.add_middleware(JsonBodyMiddleware)


@functools.cache
def _replica_id() -> bytes:
    try:
        return serve.get_replica_context().replica_id.unique_id.encode()
    except RayServeException:  # not inside a replica (e.g. a test client of the bare app)
        return b"none"


class CorrelationIdMiddleware:
    """Pure ASGI middleware: cheaper than BaseHTTPMiddleware on the hot path."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"x-correlation-id"), ""
        )
        value = incoming if _ACCEPTABLE_ID.match(incoming) else uuid.uuid4().hex
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


class JsonBodyMiddleware:
    """Relabel form-encoded bodies as JSON: no route of ours takes a form."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and any(
            k == b"content-type" and v.startswith(b"application/x-www-form-urlencoded")
            for k, v in scope["headers"]
        ):
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
        await self.app(scope, receive, send)
