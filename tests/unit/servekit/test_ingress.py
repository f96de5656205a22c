"""The conventional app: authentication before the body, error envelope, correlation ids,
JSON-only bodies, body limit; served in process."""

import httpx
import pytest
from pydantic import BaseModel

from contracts.bounds import JsonObject
from contracts.identity import Caller, Role
from servekit import auth
from servekit.auth import configure_replica, require_admin, require_service
from servekit.identity import AuthSettings
from servekit.ingress import conventional_app
from servekit.middleware import MAX_BODY_BYTES
from tests.tokens import JWKS_JSON, SIGNER

SERVICE = {"Authorization": f"Bearer {SIGNER.mint('svc', Role.SERVICE)}"}
ADMIN = {"Authorization": f"Bearer {SIGNER.mint('ops', Role.ADMIN)}"}


class Body(BaseModel):
    name: str
    params: JsonObject = {}


@pytest.fixture(autouse=True)
def configured():
    configure_replica(AuthSettings(token_public_keys=JWKS_JSON))
    yield
    auth._Auth.verifier, auth._Auth.configured = None, False


def client() -> httpx.AsyncClient:
    """An app with the project's conventions: a public, a service and an admin route."""
    app = conventional_app("test", "conventions under test")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @app.post("/echo")
    async def echo(body: dict, caller: Caller = require_service) -> dict:
        return {**body, "caller": caller.service}

    @app.put("/admin", dependencies=[require_admin])
    async def admin(body: Body) -> dict:
        return {"name": body.name}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def send(method: str, path: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
    async with client() as c:
        return await c.request(method, path, content=content, headers={"content-type": "application/json", **headers})


DEEP = b'{"name": "x", "params": ' + b'{"a":' * 900 + b"1" + b"}" * 900 + b"}"


@pytest.mark.parametrize(
    "case, method, path, content, headers, status, error_type",
    [
        ("no token, malformed JSON: 401, the body is never read", "POST", "/echo", b"{bad", {}, 401, "Unauthorized"),
        ("no token, oversized body: 401", "POST", "/echo", b"x" * (MAX_BODY_BYTES + 1), {}, 401, "Unauthorized"),
        ("no token, JSON nested 10,000 deep: 401", "POST", "/echo", b"[" * 10_000 + b"]" * 10_000, {}, 401, "Unauthorized"),
        ("service token, junk to an admin route: 403", "PUT", "/admin", b"{bad", SERVICE, 403, "Forbidden"),
        ("admin token, junk: 422 naming the body", "PUT", "/admin", b"{bad", ADMIN, 422, "ValidationError"),
        ("admin token, oversized: 413", "PUT", "/admin", b"x" * (MAX_BODY_BYTES + 1), ADMIN, 413, "PayloadTooLarge"),
        ("admin token, nested 10,000 deep: 422", "PUT", "/admin", b"[" * 10_000 + b"]" * 10_000, ADMIN, 422, "ValidationError"),
        ("admin token, params nested 900 deep: 422", "PUT", "/admin", DEEP, ADMIN, 422, "ValidationError"),
        ("admin token, a good body", "PUT", "/admin", b'{"name": "x"}', ADMIN, 200, None),
    ],
)
async def test_authentication_comes_before_the_body(case, method, path, content, headers, status, error_type):
    response = await send(method, path, content, headers)
    assert response.status_code == status, response.text
    if error_type:
        assert response.json()["error"]["type"] == error_type


@pytest.mark.parametrize(
    "content, field",
    [
        (b"{bad", "body"),
        (b'{"name": 1}', "name"),
        (b'{"name": "x", "params": ' + b'{"a":' * 40 + b"1" + b"}" * 40 + b"}", "params"),
    ],
)
async def test_errors_name_fields_by_their_path_never_a_position(content, field):
    response = await send("PUT", "/admin", content, ADMIN)
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]


async def test_an_unexpected_error_is_a_500_without_trace_but_with_the_correlation_id():
    async with client() as c:
        response = await c.get("/boom", headers={"X-Correlation-ID": "corr-500"})
    assert response.status_code == 500
    assert response.json()["error"] == {
        "type": "InternalError",
        "message": "internal error; see the service log",
        "details": {"correlation_id": "corr-500"},
    }
    assert response.headers["x-correlation-id"] == "corr-500"
    assert "secret internals" not in response.text and "Traceback" not in response.text


async def test_form_encoded_body_is_read_as_json_and_correlation_id_is_echoed():
    response = await send(  # what `curl -d` sends
        "POST", "/echo", b'{"a": 1}',
        {**SERVICE, "content-type": "application/x-www-form-urlencoded", "X-Correlation-ID": "c-1"},
    )
    assert response.json() == {"a": 1, "caller": "svc"}
    assert response.headers["x-correlation-id"] == "c-1" and response.headers["x-replica-id"] == "none"


async def test_refusals_before_the_body_carry_the_correlation_id():
    response = await send("POST", "/echo", b"{}", {"X-Correlation-ID": "c-401"})
    assert response.status_code == 401 and response.headers["x-correlation-id"] == "c-401"
