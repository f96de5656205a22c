"""A FastAPI app that follows the project's HTTP conventions, for `@serve.ingress`."""

from fastapi import FastAPI

from servekit.auth import AuthenticationMiddleware
from servekit.control_version import ControlVersionMiddleware
from servekit.errors import install_error_handlers
from servekit.middleware import (
    BodyLimitMiddleware,
    CorrelationIdMiddleware,
    HeaderLimitMiddleware,
    JsonBodyMiddleware,
)
from servekit.openapi import document


def conventional_app(title: str, summary: str, versioned: bool = False) -> FastAPI:
    """The error envelope, an OpenAPI that documents it (`servekit.openapi`) and, outermost
    first: correlation ids, the header limit, authentication (before any body is read), the
    control-plane version when the app is `versioned` (`servekit.control_version`), the body
    limit, JSON-only bodies."""
    app = FastAPI(title=title, summary=summary)
    install_error_handlers(app)
    document(app, versioned)
    versions = (ControlVersionMiddleware,) if versioned else ()
    layers = (JsonBodyMiddleware, BodyLimitMiddleware, *versions, AuthenticationMiddleware, HeaderLimitMiddleware,
              CorrelationIdMiddleware)
    for middleware in layers:
        app.add_middleware(middleware)  # each one added wraps the ones before it
    return app
