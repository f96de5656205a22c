"""The OpenAPI of the three apps tells the truth: bearer security where a token is needed, tags
per area on every operation, every error with the real envelope, examples from the README."""

import json

import pytest

from cognitive.app import app as cognitive
from coordinator.app import app as coordinator
from tests.fakes import organism_app_offline

organism = organism_app_offline()

APPS = {"organism": organism, "coordinator": coordinator, "cognitive": cognitive}
AREAS = {"task routing", "job routing", "facts", "admin", "health", "pipeline", "planning"}
ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}


def operations(app) -> list[tuple[str, str, dict]]:
    return [(method, path, op) for path, item in app.openapi()["paths"].items() for method, op in item.items()]


def error_schema(op: dict, status: str) -> dict:
    return op["responses"][status]["content"]["application/json"]["schema"]


@pytest.mark.parametrize("name", APPS)
def test_every_operation_is_tagged_secured_and_documents_its_errors_with_the_envelope(name):
    app = APPS[name]
    schema = app.openapi()
    assert schema["components"]["securitySchemes"]["bearer"] == {**schema["components"]["securitySchemes"]["bearer"],
                                                                 "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert "HTTPValidationError" not in json.dumps(schema)  # FastAPI's {"detail": ...} is not what we answer
    for method, path, op in operations(app):
        assert op["tags"] and set(op["tags"]) <= AREAS, (path, op["tags"])
        public = path == "/health"
        assert ("security" not in op) == public and (op["tags"] == ["health"]) == public, path
        expected = {"431", "500", "503"} | (set() if public else {"401", "403"})
        expected |= {"422"} if "requestBody" in op or op.get("parameters") else set()
        assert expected <= set(op["responses"]), (method, path, sorted(op["responses"]))
        for status in op["responses"]:
            if int(status) >= 400:
                assert error_schema(op, status) == ENVELOPE, (method, path, status)


def test_routes_document_their_own_refusals():
    paths = organism.openapi()["paths"]
    assert {"404"} <= set(paths["/jobs/{job_uuid}"]["get"]["responses"])
    assert {"404", "409"} <= set(paths["/receipts"]["post"]["responses"])
    assert "409" in paths["/jobs/route"]["post"]["responses"]
    assert "429" in coordinator.openapi()["paths"]["/tasks"]["post"]["responses"]
    tags = {(method, path): op["tags"] for method, path, op in operations(organism)}
    assert (tags["post", "/resolve-route"], tags["post", "/jobs/route"], tags["get", "/chain"], tags["get", "/audit"]) == (
        ["task routing"], ["job routing"], ["job routing"], ["admin"])
    facts = {(m, p) for m, p, op in operations(organism) if op["tags"] == ["facts"]}
    assert facts == {("put", "/miners/{hotkey}"), ("delete", "/miners/{hotkey}"), ("post", "/manifests"),
                     ("put", "/allowances"), ("post", "/receipts"), ("put", "/chain")}


@pytest.mark.parametrize("model", ["ResolveRouteRequest", "JobRouteRequest", "ManifestsIn", "ReceiptIn", "ReleaseIn", "RulesUpdate"])
def test_request_bodies_carry_the_readmes_examples(model):
    assert organism.openapi()["components"]["schemas"][model]["examples"]
