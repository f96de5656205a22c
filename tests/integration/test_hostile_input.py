"""Hostile input from a caller with a valid token: every input is bounded at the edge.

One regression test per defect found by the bad-input probe: deep params that
crashed organs, huge integers that broke job routing for everyone, 500s from
depth, a refused change that was stored anyway, control characters stored as
identities, unbounded durations and lax types, tokens without a bounded life.
Every refused change leaves the stored state exactly as it was.
"""

import functools
import json
import uuid
from typing import Any

import httpx
import jwt
import pytest

from servekit.identity import ISSUER
from servekit.keys import load_private_key
from tests.stack import (
    ADMIN_HEADERS,
    SERVICE_TOKEN,
    FullStack,
    deploy_full_stack,
    eventually,
    tear_down_full_stack,
)
from tests.tokens import SIGNER, SIGNING_PEM

CLASS = "always_on.test"


def nested(depth: int) -> dict[str, Any]:
    return functools.reduce(lambda inner, _: {"a": inner}, range(depth), 1)


@pytest.fixture(scope="module")
def stack(serve_url: str, tmp_path_factory: pytest.TempPathFactory) -> FullStack:
    full = deploy_full_stack(serve_url, tmp_path_factory.mktemp("hostile-state"), route_single_timeout_s=2.0)
    with httpx.Client(base_url=serve_url + "/organism", headers=ADMIN_HEADERS, timeout=30) as client:
        assert client.put("/miners/miner-a", json={"address": "10.0.0.1", "port": 8000, "collateral_wei": 10**17}).status_code == 200
        assert client.post("/manifests", json={"manifests": [
            {"hotkey": "miner-a", "executor_class": CLASS, "online_executor_count": 50, "executor_count": 50}]}).status_code == 200
        assert client.put("/chain", json={"block": 25}).status_code == 200
        assert client.put("/allowances", json={"cycle": {"start": -14, "stop": 708},
                                               "allowances": [{"hotkey": "miner-a", "initial": 1e6, "remaining": 1e6}]}).status_code == 200
    yield full
    tear_down_full_stack(full)


@pytest.fixture
def client(stack: FullStack) -> httpx.Client:
    with httpx.Client(base_url=stack.base_url, headers=ADMIN_HEADERS, timeout=60) as c:
        yield c


def organ_instances(client: httpx.Client) -> dict[str, str]:
    instances = client.get("/organism/registry").json()["instances"]
    return {i["logical_id"]: i["instance_id"] for i in instances if i["active"]}


def stored_state(client: httpx.Client) -> dict[str, Any]:
    miners = client.get("/organism/miners").json()["miners"]
    return {
        "miners": [{k: v for k, v in m.items() if k not in ("ongoing_jobs", "free_slots")} for m in miners],
        "config": client.get("/organism/config").json(),
        "chain": client.get("/organism/chain").json()["reported_block"],
        "rules": client.get("/organism/routing/rules").json(),
        "epoch": client.get("/organism/registry").json()["epoch"],
    }


def pick(client: httpx.Client) -> httpx.Response:
    body = {"uuid": str(uuid.uuid4()), "executor_class": CLASS, "download_time_limit": 1,
            "execution_time_limit": 1, "upload_time_limit": 1}
    return client.post("/organism/jobs/route", json=body)


def raw(client: httpx.Client, method: str, path: str, content: str | bytes) -> httpx.Response:
    return client.request(method, path, content=content, headers={"content-type": "application/json"})


# --- 1 and 3: depth -------------------------------------------------------------------
@pytest.mark.parametrize("depth", [500, 900])
@pytest.mark.parametrize(
    "path, body",
    [
        ("/organism/execute", lambda params: {"logical_id": "graph_dispatcher", "task": {"type": "graph_embed", "params": params}}),
        ("/pipeline/tasks", lambda params: {"type": "graph_embed", "params": params}),
        ("/cognitive/plan-task", lambda params: {"task": {"type": "graph_rag_query_v2", "params": params}}),
    ],
)
def test_deep_params_are_refused_at_the_edge_and_no_organ_dies(client, path, body, depth):
    before = organ_instances(client)
    response = client.post(path, json=body(nested(depth)))
    assert response.status_code == 422, response.text[:300]
    assert response.json()["error"]["details"][0]["field"].endswith("params")
    assert "32 levels" in response.json()["error"]["message"]
    assert organ_instances(client) == before  # the organs never saw it


def test_non_finite_numbers_in_params_are_refused(client):
    body = '{"logical_id": "graph_dispatcher", "task": {"type": "graph_embed", "params": {"x": NaN, "y": [Infinity]}}}'
    response = raw(client, "POST", "/organism/execute", body)
    assert response.status_code == 422 and "NaN or infinity" in response.json()["error"]["message"]


# --- 2, 4, 5 and 7: refused changes leave the state as it was -------------------------
HUGE = "1" + "0" * 4300
NEW_JOB = str(uuid.uuid4())
REFUSED_CHANGES = [
    ("4,300-digit block", "PUT", "/organism/chain", f'{{"block": {HUGE}}}'),
    ("block as a string", "PUT", "/organism/chain", '{"block": "12"}'),
    ("4,300-digit time limit", "POST", "/organism/jobs/route",
     f'{{"uuid": "{NEW_JOB}", "executor_class": "{CLASS}", "download_time_limit": {HUGE}, "execution_time_limit": 1, "upload_time_limit": 1}}'),
    ("time limit as a string", "POST", "/organism/jobs/route",
     f'{{"uuid": "{NEW_JOB}", "executor_class": "{CLASS}", "download_time_limit": "12", "execution_time_limit": 1, "upload_time_limit": 1}}'),
    ("trusted flag as yes", "POST", "/organism/jobs/route",
     f'{{"uuid": "{NEW_JOB}", "download_time_limit": 1, "execution_time_limit": 1, "upload_time_limit": 1, "on_trusted_miner": "yes"}}'),
    ("reservation time 10^400", "PATCH", "/organism/config",
     '{"DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS": 1' + "0" * 400 + "}"),
    ("a lone surrogate in a hotkey", "PATCH", "/organism/config", '{"TRUSTED_MINER_HOTKEY": "tm\\ud800"}'),
    ("a 1 MB address", "PATCH", "/organism/config", json.dumps({"TRUSTED_MINER_ADDRESS": "x" * 1_000_000})),
    ("a flag as yes", "PATCH", "/organism/config", '{"DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING": "yes"}'),
    ("a NUL in a rule's type", "PUT", "/organism/routing/rules",
     json.dumps({"add": [{"task_type": "a\u0000b", "logical_id": "utility_organ_1"}]})),
    ("a NUL in an address", "PUT", "/organism/miners/miner-b", json.dumps({"address": "a\u0000b", "port": 1})),
    ("a NUL in a blacklist reason", "POST", "/organism/miners/miner-a/blacklist", json.dumps({"reason": "a\u0000b"})),
    ("a blacklist of 1e308 s", "POST", "/organism/miners/miner-a/blacklist", '{"duration_s": 1e308}'),
    ("a receipt ttl of 1e308 s", "POST", "/organism/receipts",
     json.dumps({"kind": "started", "job_uuid": NEW_JOB, "hotkey": "miner-a", "executor_class": CLASS, "ttl_s": 1e308})),
    ("a receipt at timestamp 0", "POST", "/organism/receipts",
     json.dumps({"kind": "started", "job_uuid": NEW_JOB, "hotkey": "miner-a", "executor_class": CLASS, "timestamp": 0})),
    ("a count as a string", "POST", "/organism/manifests", json.dumps({"manifests": [
        {"hotkey": "miner-a", "executor_class": CLASS, "online_executor_count": "12", "executor_count": 50}]})),
    ("a NaN allowance", "PUT", "/organism/allowances",
     '{"cycle": {"start": -14, "stop": 708}, "allowances": [{"hotkey": "miner-a", "initial": 1, "remaining": NaN}]}'),
] + [
    (f"hotkey {hotkey!r}", "PUT", f"/organism/miners/{hotkey}", json.dumps({"address": "10.0.0.9", "port": 1}))
    for hotkey in ["%00", "a%0Ab", "%1B%5B31mred", "%E2%80%AEabc", "%20", "%ED%A0%80"]
]


@pytest.mark.parametrize("case, method, path, content", REFUSED_CHANGES, ids=[c[0] for c in REFUSED_CHANGES])
def test_a_refused_change_is_a_4xx_and_leaves_the_state_as_it_was(client, case, method, path, content):
    before = stored_state(client)
    response = raw(client, method, path, content)
    assert response.status_code == 422, (case, response.status_code, response.text[:300])
    assert set(response.json()) == {"error"} and response.json()["error"]["type"] == "ValidationError"
    assert stored_state(client) == before
    assert pick(client).status_code == 200  # job routing still works for everyone


@pytest.mark.parametrize(
    "path, body",
    [
        ("/organism/resolve-route", {"task": {"type": "a\u0000b"}}),
        ("/organism/resolve-route", {"task": {"type": "graph_embed", "domain": "\u202eevil"}}),
        ("/organism/resolve-routes", {"tasks": [{"type": "graph_embed", "domain": "a\u0000b"}]}),
        ("/pipeline/route", {"type": "graph_embed", "domain": "\x1b[31mred"}),
        ("/pipeline/tasks", {"type": "a\u0000b"}),
    ],
)
def test_control_and_bidi_characters_are_refused_on_routing_routes(client, path, body):
    response = client.post(path, json=body)
    assert response.status_code == 422 and "printable" in response.json()["error"]["message"]


# --- 6: authentication before the body -----------------------------------------------
@pytest.mark.parametrize(
    "headers, content, status",
    [
        ({}, b"{bad", 401),
        ({}, b"[" * 10_000 + b"]" * 10_000, 401),
        ({"Authorization": f"Bearer {SERVICE_TOKEN}"}, b"{bad", 403),  # an admin route
    ],
)
def test_the_token_is_checked_before_the_body(stack, headers, content, status):
    response = httpx.put(stack.base_url + "/organism/routing/rules", content=content,
                         headers={"content-type": "application/json", **headers}, timeout=30)
    assert response.status_code == status and response.json()["error"]["type"] in ("Unauthorized", "Forbidden")


def test_a_malformed_body_names_the_body_not_a_character_position(client):
    response = raw(client, "PUT", "/organism/routing/rules", "{bad")
    assert response.json()["error"]["details"][0]["field"] == "body"


# --- 7: tokens with an unbounded life ------------------------------------------------
@pytest.mark.parametrize("exp", ["9999999999", 10**30, True])
def test_a_token_without_a_bounded_integer_expiry_is_refused(stack, exp):
    now = int(__import__("time").time())
    token = jwt.encode({"sub": "x", "role": "admin", "iss": ISSUER, "iat": now, "exp": exp},
                       load_private_key(SIGNING_PEM), "EdDSA", headers={"kid": SIGNER.kid})
    response = httpx.get(stack.base_url + "/organism/config", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 401


def test_an_organ_that_dies_is_replaced_and_registers_again(client, stack):
    import ray

    before = organ_instances(client)
    organ = ray.get_actor("organ:graph_dispatcher:0", namespace=stack.organism.settings.namespace)
    ray.kill(organ, no_restart=False)  # what a crash does: Ray restarts the detached actor
    after = eventually(lambda: (now := organ_instances(client)).get("graph_dispatcher", before["graph_dispatcher"])
                       != before["graph_dispatcher"] and now, timeout_s=30)
    executed = client.post("/organism/execute", json={"logical_id": "graph_dispatcher", "task": {"type": "graph_embed"}})
    assert executed.status_code == 200 and executed.json()["instance_id"] == after["graph_dispatcher"]
