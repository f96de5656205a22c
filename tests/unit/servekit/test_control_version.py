"""The control-plane version over HTTP: a header on every answer, a least version a caller may ask for."""

import pytest
from fastapi.testclient import TestClient

from contracts.refusals import StaleReplica
from servekit import control_version
from servekit.ingress import conventional_app


class Source:
    def __init__(self, applied: int) -> None:
        self.applied = applied

    async def at_least(self, version: int) -> None:
        if version > self.applied:
            raise StaleReplica(f"replica r1 has applied control-plane version {self.applied}, not yet {version}")


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setattr(control_version._Process, "source", Source(7))
    app = conventional_app("t", "t", versioned=True)

    @app.get("/thing")
    async def thing() -> dict:
        return {"ok": True}

    return TestClient(app)


@pytest.mark.parametrize(
    "wanted, status, error_type",
    [(None, 200, None), ("7", 200, None), ("3", 200, None), ("8", 503, "StaleReplica"), ("seven", 422, "ValidationError"),
     ("-1", 422, "ValidationError"), ("9" * 19, 422, "ValidationError")],
)
def test_a_least_version(client, wanted, status, error_type):
    headers = {} if wanted is None else {control_version.MIN_VERSION_HEADER: wanted}
    response = client.get("/thing", headers=headers)
    assert response.status_code == status
    assert response.headers[control_version.VERSION_HEADER] == "7"
    if error_type:
        assert response.json()["error"]["type"] == error_type
    if status == 503:
        assert response.json()["error"]["details"] == {"applied": 7, "wanted": 8} and response.headers["retry-after"]


def test_an_answer_that_sets_its_own_version_keeps_it(client):
    app = client.app

    @app.post("/change")
    async def change():
        from fastapi.responses import JSONResponse

        return JSONResponse({}, headers={control_version.VERSION_HEADER: "8"})

    assert client.post("/change").headers[control_version.VERSION_HEADER] == "8"


def test_the_openapi_documents_the_headers():
    app = conventional_app("t", "t", versioned=True)

    @app.get("/thing")
    async def thing() -> dict:
        return {}

    operation = app.openapi()["paths"]["/thing"]["get"]
    assert control_version.MIN_VERSION_HEADER in [p["name"] for p in operation["parameters"]]
    assert control_version.VERSION_HEADER in operation["responses"]["200"]["headers"]
