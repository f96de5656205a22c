"""Routes declared on a class's methods and mounted per instance: explicit composition for ingresses.

A wing of a deployment is a plain class whose methods are its routes,
marked with `route.get(...)`, `route.post(...)`, ... (FastAPI's options).
`router_of(instance)` is an `APIRouter` whose endpoints are that instance's
bound methods, in the order the class defines them, so the deployment builds
its app from the wings it holds (`@serve.ingress()` with
`__serve_build_asgi_app__`) instead of inheriting from them. Nothing is
rewritten and nothing needs to be pickled by value: the app is built in the
replica, after the constructor.
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

MARK = "__route__"


class _Route:
    """The route decorators: `@route.post("/path", responses=..., dependencies=...)`."""

    def _mark(self, method: str, path: str, options: dict[str, Any]) -> Callable[[Callable], Callable]:
        def mark(function: Callable) -> Callable:
            setattr(function, MARK, (method, path, options))
            return function

        return mark

    def get(self, path: str, **options: Any) -> Callable[[Callable], Callable]:
        return self._mark("GET", path, options)

    def post(self, path: str, **options: Any) -> Callable[[Callable], Callable]:
        return self._mark("POST", path, options)

    def put(self, path: str, **options: Any) -> Callable[[Callable], Callable]:
        return self._mark("PUT", path, options)

    def patch(self, path: str, **options: Any) -> Callable[[Callable], Callable]:
        return self._mark("PATCH", path, options)

    def delete(self, path: str, **options: Any) -> Callable[[Callable], Callable]:
        return self._mark("DELETE", path, options)


route = _Route()


def router_of(instance: object, **router_options: Any) -> APIRouter:
    """An APIRouter of `instance`'s marked methods, bound to it, in definition order."""
    router = APIRouter(**router_options)
    for klass in reversed(type(instance).__mro__):
        for name, member in vars(klass).items():
            if (mark := getattr(member, MARK, None)) is not None:
                method, path, options = mark
                router.add_api_route(path, getattr(instance, name), methods=[method], **options)
    return router
