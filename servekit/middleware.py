"""The ASGI layers every service's app runs under; HTTP requests only.

`CorrelationIdMiddleware` takes `X-Correlation-ID` from the request (or makes
one), sets it for handlers and logs, and echoes it with `X-Replica-ID` (the
Serve replica that answered). `JsonBodyMiddleware` reads a form-encoded body
(what `curl -d` sends) as JSON: no route takes a form. `BodyLimitMiddleware`
answers bodies over `MAX_BODY_BYTES` with the JSON 413 envelope, and
`HeaderLimitMiddleware` headers over `MAX_HEADER_BYTES` with a JSON 431 (the
ingress in front refuses still larger ones itself, see the README).
"""

import functools
import itertools
import os
import re
from typing import Any

from fastapi import HTTPException
from ray import serve
from ray.serve.exceptions import RayServeException

from servekit.context import correlation_id
from servekit.errors import error_response

_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
MAX_BODY_BYTES = 4 * 1024 * 1024  # the largest legitimate body, 10,000 manifests, is ~1.5 MiB
MAX_HEADER_BYTES = 16 * 1024  # a bearer token is ~250 bytes; browsers send under 8 KiB
_TOO_LARGE = f"the body exceeds {MAX_BODY_BYTES} bytes"


_ID_PREFIX = os.urandom(6).hex()  # this process's; with a counter, unique without a syscall per request
_ID_COUNTER = itertools.count()


def new_correlation_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"


@functools.cache
def replica_id() -> str:
    """This Serve replica's id (`none` outside a replica, e.g. a test client of the bare app)."""
    try:
        return serve.get_replica_context().replica_id.unique_id
    except RayServeException:
        return "none"


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
        value = incoming if _ACCEPTABLE_ID.match(incoming) else new_correlation_id()
        scope.setdefault("state", {})["correlation_id"] = value
        token = correlation_id.set(value)

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-correlation-id", value.encode()),
                    (b"x-replica-id", replica_id().encode()),
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


class HeaderLimitMiddleware(HttpMiddleware):
    """Refuse requests whose headers add up to more than MAX_HEADER_BYTES with 431."""

    async def handle(self, scope: dict, receive: Any, send: Any) -> None:
        if sum(len(k) + len(v) for k, v in scope["headers"]) > MAX_HEADER_BYTES:
            message = f"the request headers exceed {MAX_HEADER_BYTES} bytes"
            await error_response(431, "RequestHeadersTooLarge", message)(scope, receive, send)
            return
        await self.app(scope, receive, send)
