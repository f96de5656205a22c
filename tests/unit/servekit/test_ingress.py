"""The conventional app: error envelope, correlation ids, JSON-only bodies, body limit."""

import httpx

from servekit.ingress import conventional_app
from servekit.middleware import MAX_BODY_BYTES


def bare_client() -> httpx.AsyncClient:
    """An app with the project's conventions and two routes, served in process."""
    app = conventional_app("test", "conventions under test")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @app.post("/echo")
    async def echo(body: dict) -> dict:
        return body

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_an_unexpected_error_is_a_500_without_trace_but_with_the_correlation_id():
    async with bare_client() as client:
        response = await client.get("/boom", headers={"X-Correlation-ID": "corr-500"})
    assert response.status_code == 500
    assert response.json()["error"] == {
        "type": "InternalError",
        "message": "internal error; see the service log",
        "details": {"correlation_id": "corr-500"},
    }
    assert response.headers["x-correlation-id"] == "corr-500"
    assert "secret internals" not in response.text and "Traceback" not in response.text


async def test_oversized_declared_body_is_413_before_reading():
    async with bare_client() as client:
        response = await client.post("/echo", content=b"x" * (MAX_BODY_BYTES + 1), headers={"content-type": "application/json"})
        ok = await client.post("/echo", json={"a": 1})
    assert response.status_code == 413 and response.json()["error"]["type"] == "PayloadTooLarge"
    assert ok.status_code == 200


async def test_form_encoded_body_is_read_as_json_and_correlation_id_is_echoed():
    async with bare_client() as client:
        response = await client.post(  # what `curl -d` sends
            "/echo", content=b'{"a": 1}', headers={"content-type": "application/x-www-form-urlencoded", "X-Correlation-ID": "c-1"}
        )
    assert response.json() == {"a": 1}
    assert response.headers["x-correlation-id"] == "c-1" and response.headers["x-replica-id"] == "none"
