"""Authentication of every route: bearer token -> `Caller`, or 401/403, before the body.

A route declares the role it needs with the `require_service`,
`require_facts` or `require_admin` dependency. `AuthenticationMiddleware` reads those
declarations once and checks the token and the role of every request
before anything reads its body (401 when the token is missing, invalid or
expired; 403 when its role is not enough), so a caller without the right
token learns nothing from the body's size or syntax. The dependency then
hands the route the caller the middleware verified.

Every deployment calls `configure_replica()` when it starts; it fails (and
so stops the deployment) when no token key set is configured outside development
mode. A DeploymentHandle call passes its `Caller` along instead of a token:
`caller_of` makes it the request's caller.
"""

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute

from contracts.identity import Caller, Role
from servekit.context import correlation_id, current_caller, replica_logger, stamp_serve_logs
from servekit.errors import ApiError, error_response
from servekit.identity import AuthSettings, TokenError, TokenVerifier, verifier_from_settings
from servekit.middleware import HttpMiddleware

try:  # FastAPI >= 0.137 keeps included routers as nodes instead of copying their routes
    from fastapi.routing import _IncludedRouter
except ImportError:  # pragma: no cover
    _IncludedRouter = None

logger = replica_logger(__name__)

DEV_CALLER = Caller("local-dev", Role.ADMIN)


class _Auth:
    """The token verifier of this process, set once by `configure_replica`."""

    verifier: TokenVerifier | None = None
    configured = False


def configure_replica(settings: AuthSettings | None = None) -> None:
    """Call from every deployment's constructor: authentication and log context.
    Raises, so the deployment does not start, when no token key set is configured."""
    _Auth.verifier = verifier_from_settings(settings or AuthSettings())
    _Auth.configured = True
    if _Auth.verifier is None:
        logger.warning("ROUTING_DEV_MODE without a token key set: requests are NOT authenticated")
    stamp_serve_logs()


def authenticate(header: str, declared: str | None, needed: Role) -> Caller:
    """The caller of a bearer `header`, if its role is enough; ApiError 401/403 otherwise."""
    if not _Auth.configured:
        raise ApiError(503, "NotReady", "authentication is not configured yet")
    if _Auth.verifier is None:
        caller = DEV_CALLER
    else:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "Unauthorized", "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        try:
            caller = _Auth.verifier.verify(token.strip())
        except TokenError as error:
            raise ApiError(401, "Unauthorized", str(error), headers={"WWW-Authenticate": "Bearer"}) from error
    if not caller.may(needed):
        raise ApiError(403, "Forbidden", f"this route needs the {needed.value} role")
    return Caller(caller.service, caller.role, correlation_id.get(), declared)


def _caller_for(request: Request, needed: Role) -> Caller:
    caller = request.scope.get("state", {}).get("caller")  # verified by the middleware
    if caller is None:
        caller = authenticate(request.headers.get("authorization", ""), request.headers.get("x-service"), needed)
    current_caller.set(caller)
    return caller


async def _require_service(request: Request) -> Caller:
    return _caller_for(request, Role.SERVICE)


async def _require_facts(request: Request) -> Caller:
    return _caller_for(request, Role.FACTS)


async def _require_admin(request: Request) -> Caller:
    return _caller_for(request, Role.ADMIN)


require_service = Depends(_require_service)
require_facts = Depends(_require_facts)
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


ROLE_OF_DEPENDENCY = {_require_admin: Role.ADMIN, _require_facts: Role.FACTS, _require_service: Role.SERVICE}


def leaf_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif _IncludedRouter is not None and isinstance(route, _IncludedRouter):
            yield from leaf_routes(route.original_router.routes)


def role_of(route: APIRoute) -> Role | None:
    """The role a route declares through its dependencies; None for a public route."""
    declared = [d.dependency for d in route.dependencies] + [
        p.default.dependency
        for p in inspect.signature(route.endpoint).parameters.values()
        if isinstance(p.default, DependsParam)
    ]
    roles = {ROLE_OF_DEPENDENCY[d] for d in declared if d in ROLE_OF_DEPENDENCY}
    return next((role for role in (Role.ADMIN, Role.FACTS, Role.SERVICE) if role in roles), None)


def _header(scope: dict, name: bytes) -> str | None:
    return next((v.decode("latin-1") for k, v in scope["headers"] if k == name), None)


class AuthenticationMiddleware(HttpMiddleware):
    """Check the token and role a route declares before the body is read."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self._roles: list[tuple[APIRoute, Role]] | None = None

    def _needed(self, scope: dict) -> Role | None:
        if self._roles is None:  # the routes are final once requests arrive
            leaves = leaf_routes(scope["app"].router.routes)
            self._roles = [(route, role) for route in leaves if (role := role_of(route)) is not None]
        root, path = scope.get("root_path", ""), scope["path"]
        path = path[len(root):] if root and path.startswith(root) else path
        for route, role in self._roles:
            if scope["method"] in (route.methods or ()) and route.path_regex.match(path):
                return role
        return None

    async def handle(self, scope: dict, receive: Any, send: Any) -> None:
        needed = self._needed(scope)
        if needed is not None:
            try:
                caller = authenticate(_header(scope, b"authorization") or "", _header(scope, b"x-service"), needed)
            except ApiError as refused:
                response = error_response(refused.status_code, refused.error_type, refused.message, headers=refused.headers)
                await response(scope, receive, send)
                return
            scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, receive, send)
