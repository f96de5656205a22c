"""The OpenAPI every service publishes: what FastAPI generates, made true to the conventions.

FastAPI documents a route's success and a `422` with its own `{"detail": [...]}`
body; ours answer every error in one envelope (`servekit.errors`), need a
bearer token, and may answer a few errors any route can. `document(app)`
makes the generated schema say so, from what the routes already declare:
- a `bearer` security scheme, required by every route that declares a role;
- tags per area: the router's own (task routing, job routing, ...), `admin`
  and `facts` for routes of those roles, `health` for public routes;
- every error a route can answer, with the real envelope: 401 and 403 where a
  token is needed, 413 and 422 where there is input, 431, 500 and 503
  everywhere, and what a route declares itself (`errors(404, 409)`).
Schemathesis checks the answers against it (`tests/integration/test_fuzz.py`).
"""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from contracts.identity import Role
from servekit.auth import leaf_routes, role_of
from servekit.control_version import document_version_headers, document_version_parameter

SECURITY_SCHEME = "bearer"
ROLE_TAGS = {Role.ADMIN: "admin", Role.FACTS: "facts"}
DESCRIPTIONS = {
    400: "The body could not be read",
    401: "Missing, invalid or expired token (`WWW-Authenticate: Bearer`)",
    403: "The token's role may not call this route",
    404: "Not found: `error.details` names what",
    409: "Refused in the current state: `error.type` says why, `error.details` how",
    413: "The body is over 4 MiB",
    422: "Invalid input: `error.details` names each field by its dotted path",
    429: "Too many escalated tasks in flight: retry after `Retry-After`",
    431: "The request's headers add up to more than 16 KiB",
    500: "An unexpected failure, logged with its trace under the correlation id",
    503: "Unavailable for now (control plane, store, registry, picker, busy miners): retry, see `Retry-After`",
    504: "The organ did not answer in time",
}


class ErrorBody(BaseModel):
    type: str = Field(description="what went wrong, e.g. ValidationError, Unauthorized, AllMinersBusy")
    message: str
    details: Any = Field(None, description="for a 422: [{field, problem}]; otherwise what the error type says")


class ErrorEnvelope(BaseModel):
    """Every error answer of every service."""

    error: ErrorBody

    model_config = {"json_schema_extra": {"examples": [
        {"error": {"type": "ValidationError", "message": "task.type: Field required",
                   "details": [{"field": "task.type", "problem": "Field required"}]}},
    ]}}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's own error answers, for its decorator's `responses=`."""
    return {status: {"model": ErrorEnvelope, "description": DESCRIPTIONS[status]} for status in statuses}


def _error_response(status: int) -> dict[str, Any]:
    return {"description": DESCRIPTIONS[status],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}}


def _complete(operation: dict[str, Any], role: Role | None) -> None:
    responses = operation["responses"]
    statuses = [431, 500, 503]
    if role is not None:
        operation["security"] = [{SECURITY_SCHEME: []}]
        statuses += [401, 403]
    if "requestBody" in operation or operation.get("parameters"):
        statuses += [422]
    if "requestBody" in operation:
        statuses += [400, 413]
    for status in statuses:
        responses[str(status)] = _error_response(status)  # also replaces FastAPI's own 422
    if role is None:
        operation["tags"] = ["health"]  # the only public routes
    elif role in ROLE_TAGS:
        operation["tags"] = [ROLE_TAGS[role]]


def document(app: FastAPI, versioned: bool = False) -> None:
    """Make `app.openapi()` (and so `/openapi.json` and `/docs`) tell the whole truth; `versioned`: its
    answers carry the control-plane version (`servekit.control_version`)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                                 description=app.description, routes=app.routes)
            components = schema.setdefault("components", {})
            components.setdefault("schemas", {}).update(
                ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs"),
                ErrorEnvelope=ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}"),
            )
            components["schemas"]["ErrorEnvelope"].pop("$defs", None)
            for name in ("HTTPValidationError", "ValidationError"):
                components["schemas"].pop(name, None)
            components["securitySchemes"] = {SECURITY_SCHEME: {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "An Ed25519-signed token naming the calling service and its role "
                               "(service, facts or admin): `routing token --role ... --service ...`",
            }}
            for route in leaf_routes(app.routes):
                path = schema["paths"].get(route.path_format, {})
                for method in route.methods:
                    if (operation := path.get(method.lower())) is not None:
                        if versioned:
                            document_version_parameter(operation)
                        _complete(operation, role_of(route))
                        if versioned:
                            document_version_headers(operation)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
