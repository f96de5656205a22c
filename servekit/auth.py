"""Authentication of every route: bearer token -> `Caller`, or 401/403.

`require_service` and `require_admin` are FastAPI dependencies (401 when the
token is missing, invalid or expired; 403 when its role is not enough).
Every deployment calls `configure_replica()` when it starts; it fails (and
so stops the deployment) when no secret is configured outside development
mode. A DeploymentHandle call passes its `Caller` along instead of a token:
`caller_of` makes it the request's caller.
"""

from fastapi import Depends, Request

from servekit.context import correlation_id, current_caller, replica_logger, stamp_serve_logs
from servekit.errors import ApiError
from servekit.identity import AuthSettings, Caller, Role, TokenAuthority, TokenError, authority_from_settings

logger = replica_logger(__name__)

DEV_CALLER = Caller("local-dev", Role.ADMIN)


class _Auth:
    """The token authority of this process, set once by `configure_replica`."""

    authority: TokenAuthority | None = None
    configured = False


def configure_replica(settings: AuthSettings | None = None) -> None:
    """Call from every deployment's constructor: authentication and log context.
    Raises, so the deployment does not start, when no token secret is configured."""
    _Auth.authority = authority_from_settings(settings or AuthSettings())
    _Auth.configured = True
    if _Auth.authority is None:
        logger.warning("ROUTING_DEV_MODE without a token secret: requests are NOT authenticated")
    stamp_serve_logs()


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
