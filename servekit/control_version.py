"""The control-plane version on the HTTP surface: a header on every answer, a least version a caller may ask for.

A replica that follows the control plane says what it has applied (`track`).
Then every answer of its app carries `X-Control-Plane-Version`: the version
it answered at (a change's own answer: the version that change made, set by
its route, with `X-Control-Plane-Late` naming the replicas that had not
applied it within the bound). A request may name the least version it
accepts in `X-Min-Control-Plane-Version`: the replica waits a moment until
it has applied it, or answers `503 StaleReplica` with the version it has. A
value that is not a non-negative integer is a 422 naming the header.
"""

from typing import Any, Protocol

from contracts.refusals import Unavailable
from servekit.errors import error_response, validation_error
from servekit.middleware import HttpMiddleware

VERSION_HEADER = "X-Control-Plane-Version"
LATE_HEADER = "X-Control-Plane-Late"
MIN_VERSION_HEADER = "X-Min-Control-Plane-Version"
_MIN_VERSION = MIN_VERSION_HEADER.lower().encode()
_VERSION = VERSION_HEADER.lower().encode()


class VersionSource(Protocol):
    @property
    def applied(self) -> int: ...

    async def at_least(self, version: int) -> None:
        """Return once `version` is applied here; raise `Unavailable` (a stale replica) when it is not soon."""


class _Process:
    source: VersionSource | None = None


def track(source: VersionSource) -> None:
    """This replica's control-plane version comes from `source` (call from the deployment's constructor)."""
    _Process.source = source


class ControlVersionMiddleware(HttpMiddleware):
    async def handle(self, scope: dict, receive: Any, send: Any) -> None:
        source = _Process.source
        if source is None:
            await self.app(scope, receive, send)
            return
        wanted = next((v.decode("latin-1") for k, v in scope["headers"] if k == _MIN_VERSION), None)
        if wanted is not None:
            refused = await self._refusal(source, wanted.strip())
            if refused is not None:
                await refused(scope, receive, send)
                return

        async def send_with_version(message: dict) -> None:
            if message["type"] == "http.response.start" and not any(k == _VERSION for k, _ in message.get("headers", [])):
                message["headers"] = [*message.get("headers", []), (_VERSION, str(source.applied).encode())]
            await send(message)

        await self.app(scope, receive, send_with_version)

    @staticmethod
    async def _refusal(source: VersionSource, wanted: str) -> Any:
        if not wanted.isascii() or not wanted.isdigit() or len(wanted) > 18:
            invalid = validation_error([(MIN_VERSION_HEADER, "must be a non-negative integer")])
            return error_response(422, invalid.error_type, invalid.message, invalid.details,
                                  headers={VERSION_HEADER: str(source.applied)})
        try:
            await source.at_least(int(wanted))
        except Unavailable as stale:
            headers = {"Retry-After": str(stale.retry_after_s or 1), VERSION_HEADER: str(source.applied)}
            return error_response(503, type(stale).__name__, str(stale),
                                  {"applied": source.applied, "wanted": int(wanted)}, headers=headers)
        return None


def document_version_parameter(operation: dict[str, Any]) -> None:
    """Say so in an operation's OpenAPI: the request header a caller may send."""
    operation.setdefault("parameters", []).append({
        "name": MIN_VERSION_HEADER, "in": "header", "required": False,
        "description": "the least control-plane version this answer may be computed at; a replica that has"
                       " not applied it within a second answers 503 StaleReplica",
        "schema": {"type": "integer", "minimum": 0},
    })


def document_version_headers(operation: dict[str, Any]) -> None:
    """Say so in an operation's OpenAPI: the headers of every answer (a change's, the late replicas too)."""
    for status, response in operation["responses"].items():
        headers = response.setdefault("headers", {})
        headers[VERSION_HEADER] = {"description": "the control-plane version this answer was computed at (a"
                                                  " change's answer: the version it made)", "schema": {"type": "integer"}}
        if status.startswith("2") and operation.get("x-control-plane-change"):
            headers[LATE_HEADER] = {"description": "replicas that had not applied the change within the bound"
                                                   " (they answer nothing older until they have)",
                                    "schema": {"type": "string"}}
