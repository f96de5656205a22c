"""The one error envelope of every service, and the handlers that produce it.

Every error body is `{"error": {"type", "message", "details"}}`. Validation
errors are `422` and name each field by its dotted path (`task.type: Field
required`); unexpected exceptions are logged with their trace and answered
`500` with no trace, carrying the correlation id.
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from servekit.context import CORRELATION_HEADER, correlation_id, replica_logger

logger = replica_logger(__name__)


class ApiError(Exception):
    """An error with a status code and a typed body; raised by api layers."""

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


def _problem_of(error: dict[str, Any]) -> tuple[str, str]:
    """(dotted field path, problem) of one pydantic/FastAPI error; never a character position."""
    if error["type"] == "json_invalid":  # its location is (body, character position)
        return "body", f"invalid JSON at character {error['loc'][-1]}: {error.get('ctx', {}).get('error', 'decode error')}"
    parts = [str(p) for p in error["loc"]]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts) or "body", error["msg"].removeprefix("Value error, ")


async def on_validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    raised = validation_error([_problem_of(e) for e in error.errors()])
    return error_response(422, raised.error_type, raised.message, raised.details)


async def on_api_error(request: Request, error: ApiError) -> JSONResponse:
    return error_response(error.status_code, error.error_type, error.message, error.details, error.headers)


BODY_UNPARSABLE = "There was an error parsing the body"  # FastAPI's words, e.g. for JSON nested past recursion


async def on_http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    if error.status_code == 400 and error.detail == BODY_UNPARSABLE:
        raised = validation_error([("body", "could not be parsed (nested too deeply?)")])
        return error_response(422, raised.error_type, raised.message, raised.details)
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


def install_error_handlers(app: FastAPI) -> None:
    # Module-level handlers: Serve pickles the app, and these pickle by reference.
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
