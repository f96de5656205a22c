"""Tokens on every route, roles, correlation ids, and the contract's metrics on Ray's metrics port."""

import json
import re
import time

import httpx
import jwt
import pytest
import ray
from ray import serve

from cognitive.app import Cognitive, CognitiveSettings
from contracts.identity import Role
from servekit.identity import ISSUER, TokenSigner
from servekit.keys import load_private_key, new_private_key, private_pem
from tests.stack import SERVICE_TOKEN, deploy_full_stack, tear_down_full_stack
from tests.tokens import JWKS_JSON, SIGNER, SIGNING_PEM, hmac_forgery

CONTRACT_METRICS = [
    "route_cache_hit_total",
    "route_remote_total",
    "route_remote_latency_ms",
    "route_remote_fail_total",
    "bulk_resolve_items",
    "bulk_resolve_failed_items",
    "resolve_route_total",
    "resolve_routes_total",
    "resolve_routes_items",
    "routing_cache_hit_total",
    "routing_rules_total",
    "job_picks_total",
    "job_pick_latency_ms",
    "route_breaker_state",
    "routing_epoch_rotations_total",
]


@pytest.fixture(scope="module")
def stack(serve_url: str, tmp_path_factory: pytest.TempPathFactory):
    full = deploy_full_stack(
        serve_url, tmp_path_factory.mktemp("security-state"), route_single_timeout_s=2.0, route_bulk_timeout_s=2.0
    )
    bare = httpx.Client(base_url=serve_url, timeout=30)
    yield full.organism, bare
    bare.close()
    tear_down_full_stack(full)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


MATRIX_MINER = "role-matrix"
ROUTES = [
    ("post", "/organism/resolve-route", {"task": {"type": "graph_embed"}}),
    ("post", "/organism/resolve-routes", {"tasks": [{"type": "graph_embed"}]}),
    ("get", "/organism/routing/rules", None),
    ("get", "/organism/registry", None),
    ("post", "/organism/execute", {"logical_id": "utility_organ_1", "task": {"type": "x"}}),
    ("get", "/organism/miners", None),
    ("get", "/organism/config", None),
    ("get", "/organism/jobs", None),
    ("post", "/pipeline/route", {"type": "graph_embed"}),
    ("post", "/pipeline/tasks", {"type": "graph_embed"}),
    ("post", "/cognitive/plan-task", {"task": {"type": "graph_embed"}}),
]
ADMIN_ROUTES = [
    ("put", "/organism/routing/rules", {"add": []}),
    ("post", "/organism/routing/refresh", None),
    ("post", "/organism/registry/epoch", None),
    ("patch", "/organism/config", {}),
    ("post", f"/organism/miners/{MATRIX_MINER}/blacklist", {"reason": "matrix", "duration_s": 1}),
    ("delete", f"/organism/miners/{MATRIX_MINER}/blacklist", None),
    ("get", "/organism/jobs/trace", None),
]
FACTS_ROUTES = [
    ("put", f"/organism/miners/{MATRIX_MINER}", {"address": "127.0.0.1", "port": 9000}),
    ("post", "/organism/manifests", {"manifests": [
        {"hotkey": MATRIX_MINER, "executor_class": "always_on.test", "online_executor_count": 1, "executor_count": 1}]}),
    ("put", "/organism/allowances", {"cycle": {"start": -14, "stop": 708},
                                      "allowances": [{"hotkey": MATRIX_MINER, "initial": 10, "remaining": 10}]}),
    ("post", "/organism/receipts", {"kind": "started", "job_uuid": "5b0e0a52-5f0e-4d2c-9d1e-7e2a7f0c1a11",
                                    "hotkey": MATRIX_MINER, "executor_class": "always_on.test"}),
    ("put", "/organism/chain", {"block": 25}),
    ("delete", "/organism/miners/never-registered", None),
]
ROLE_ROUTES = {Role.SERVICE: ROUTES, Role.FACTS: FACTS_ROUTES, Role.ADMIN: ADMIN_ROUTES}


def call(client: httpx.Client, method: str, path: str, body, headers=None) -> httpx.Response:
    return client.request(method.upper(), path, json=body, headers=headers or {})


@pytest.mark.parametrize("method, path, body", ROUTES + FACTS_ROUTES + ADMIN_ROUTES)
def test_every_route_needs_a_token(stack, method, path, body):
    _, client = stack
    expired = jwt.encode({"sub": "x", "role": "admin", "iss": ISSUER, "iat": 0, "exp": 1},
                         load_private_key(SIGNING_PEM), "EdDSA", headers={"kid": SIGNER.kid})
    forged = TokenSigner(private_pem(new_private_key())).mint("x", Role.ADMIN)  # a key not in the set
    for headers in [None, {"Authorization": "Basic abc"}, bearer("garbage"), bearer(expired), bearer(forged)]:
        response = call(client, method, path, body, headers)
        assert response.status_code == 401, (path, headers, response.text)
        assert response.json()["error"]["type"] == "Unauthorized"


def test_a_token_minted_with_what_a_deployment_holds_is_refused(stack):
    """A compromised deployment has the key set and nothing else: it cannot mint itself an admin."""
    _, client = stack
    claims = {"sub": "intruder", "role": "admin", "iss": ISSUER, "iat": int(time.time()), "exp": int(time.time()) + 60}
    held = json.loads(JWKS_JSON)["keys"][0]
    for secret in (JWKS_JSON, json.dumps(held), held["x"]):  # HMAC keyed with the public material
        forged = hmac_forgery(claims, secret, held["kid"])
        response = client.patch("/organism/config", json={}, headers=bearer(forged))
        assert response.status_code == 401 and response.json()["error"]["message"] == "invalid token"


@pytest.mark.parametrize("method, path, body", ROUTES)
def test_service_token_is_enough_for_service_routes(stack, method, path, body):
    _, client = stack
    response = call(client, method, path, body, bearer(SERVICE_TOKEN))
    assert response.status_code == 200, (path, response.text)


@pytest.mark.parametrize("caller", list(Role))
@pytest.mark.parametrize("needed", list(Role))
def test_role_matrix(stack, caller, needed):
    """service routes and reads; facts feeds facts only; admin may everything."""
    _, client = stack
    allowed = {Role.SERVICE: {Role.SERVICE}, Role.FACTS: {Role.FACTS}, Role.ADMIN: set(Role)}[caller]
    token = bearer(SIGNER.mint(f"matrix-{caller.value}", caller))
    for method, path, body in ROLE_ROUTES[needed]:
        response = call(client, method, path, body, token)
        if needed in allowed:
            assert response.status_code not in (401, 403), (caller, method, path, response.text)
        else:
            assert response.status_code == 403, (caller, method, path, response.text)
            assert response.json()["error"]["message"] == f"this route needs the {needed.value} role"


def test_admin_token_changes_rules(stack):
    _, client = stack
    admin = bearer(SIGNER.mint("ops", Role.ADMIN))
    rule = {"task_type": "audited", "domain": None, "logical_id": "utility_organ_1"}
    response = client.put("/organism/routing/rules", json={"add": [rule]}, headers=admin)
    assert response.status_code == 200 and rule in response.json()["rules"]


def test_a_deployment_without_a_token_key_set_refuses_to_start(stack):
    no_secret = Cognitive.options(
        name="CognitiveWithoutKeys",
        ray_actor_options={"num_cpus": 0,
                           "runtime_env": {"env_vars": {"ROUTING_TOKEN_PUBLIC_KEYS": "", "ROUTING_DEV_MODE": "false"}}},
    )
    with pytest.raises(RuntimeError):
        serve.run(no_secret.bind(CognitiveSettings()), name="no-secret", route_prefix=None)
    serve.delete("no-secret")


@pytest.mark.parametrize("path", ["/organism/health", "/pipeline/health", "/cognitive/health"])
def test_health_needs_no_token(stack, path):
    assert stack[1].get(path).status_code == 200


def test_correlation_id_round_trips_through_the_pipeline(stack):
    _, client = stack
    response = client.post(
        "/pipeline/tasks", json={"type": "graph_embed"}, headers={**bearer(SERVICE_TOKEN), "X-Correlation-ID": "trace-abc", "X-Service": "tests"}
    )
    assert response.headers["x-correlation-id"] == "trace-abc"
    assert response.json()["correlation_id"] == "trace-abc"


def _metrics_text() -> str:
    port = next(n["MetricsExportPort"] for n in ray.nodes() if n["Alive"])
    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text


def exported_name(name: str) -> str:
    """How Ray exports a metric to Prometheus: `ray_` prefix, counters end in `_total`."""
    return f"ray_{name}"


def _value(text: str, name: str) -> float:
    """Sum of every sample of a metric (counters may gain `_total`; histograms: their `_count`)."""
    pattern = re.compile(rf"^{exported_name(name)}(?:_total|_count)?(?:{{[^}}]*}})? ([0-9.e+-]+)$", re.M)
    return sum(float(v) for v in pattern.findall(text))


def wait_until_moving(names: list[str], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s  # Ray exports metrics every few seconds
    while True:
        text = _metrics_text()
        stalled = [m for m in names if _value(text, m) <= 0 and not (m == "route_breaker_state" and f"ray_{m}" in text)]
        if not stalled:
            return
        assert time.monotonic() < deadline, f"not moving on the metrics port: {stalled}"
        time.sleep(2)


FAILURE_METRICS = ["route_remote_fail_total", "bulk_resolve_failed_items"]


def test_contract_metrics_move_on_the_metrics_port(stack):
    organism, client = stack
    admin = bearer(SIGNER.mint("ops", Role.ADMIN))
    for _ in range(3):
        client.post("/pipeline/tasks", json={"type": "graph_rag_query_v2", "domain": "facts"}, headers=admin)
        client.post("/pipeline/route", json={"type": "graph_embed", "domain": "facts"}, headers=admin)
        client.post("/organism/resolve-route", json={"task": {"type": "graph_embed"}}, headers=admin)
        client.post("/organism/resolve-routes", json={"tasks": [{"type": "graph_embed"}, {"type": "x"}]}, headers=admin)
    client.post("/organism/registry/epoch", headers=admin)
    client.post("/organism/jobs/route", headers=admin, json={
        "uuid": "00000000-0000-4000-8000-000000000001", "download_time_limit": 1, "execution_time_limit": 1, "upload_time_limit": 1})
    wait_until_moving([m for m in CONTRACT_METRICS if m not in FAILURE_METRICS])
    # failures: the coordinator routes remote types while the organism is away
    serve.delete("organism")
    client.post("/pipeline/route", json={"type": "graph_rag_query", "domain": "gone"}, headers=admin)
    client.post("/pipeline/tasks", json={"type": "graph_rag_query_v2", "domain": "gone"}, headers=admin)
    wait_until_moving(FAILURE_METRICS)
