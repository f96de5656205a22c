"""A FastAPI app that follows the project's HTTP conventions, for `@serve.ingress`."""

from fastapi import FastAPI

from servekit.errors import install_error_handlers
from servekit.middleware import BodyLimitMiddleware, CorrelationIdMiddleware, JsonBodyMiddleware


def conventional_app(title: str, summary: str) -> FastAPI:
    """The error envelope, correlation ids, JSON-only bodies and the body limit."""
    app = FastAPI(title=title, summary=summary)
    install_error_handlers(app)
    app.add_middleware(CorrelationIdMiddleware)
    app.add_middleware(JsonBodyMiddleware)
    app.add_middleware(BodyLimitMiddleware)
    return app
