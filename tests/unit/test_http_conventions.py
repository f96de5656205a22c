import contextvars
import logging

import httpx
from fastapi import FastAPI

from service_common.auth import Caller, Role
from service_common.http import (
    MAX_BODY_BYTES,
    RequestContextFilter,
    caller_of,
    correlation_id,
    current_caller,
    install_http_conventions,
)


def test_log_records_carry_correlation_id_and_caller():
    token_id = correlation_id.set("corr-9")
    token_caller = current_caller.set(Caller("coordinator", Role.SERVICE))
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
        assert RequestContextFilter().filter(record)
        assert (record.correlation_id, record.caller) == ("corr-9", "coordinator/service")
    finally:
        correlation_id.reset(token_id)
        current_caller.reset(token_caller)


def test_caller_passed_on_a_handle_call_becomes_the_request_context():
    def check() -> None:
        forwarded = Caller("ops", Role.ADMIN).forwarded_by("coordinator", "corr-1")
        assert caller_of(forwarded) is forwarded
        assert current_caller.get() is forwarded and correlation_id.get() == "corr-1"
        assert forwarded.via == "coordinator" and forwarded.service == "ops"

    contextvars.copy_context().run(check)  # each request runs in its own context


def test_handle_call_without_a_caller_is_in_cluster():
    assert caller_of(object()).service == "in-cluster"


def bare_client() -> httpx.AsyncClient:
    """An app with the project's conventions and two routes, served in process."""
    app = FastAPI()
    install_http_conventions(app)

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
