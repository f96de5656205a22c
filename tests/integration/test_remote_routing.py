"""Remote routing that holds under load and sees every change at once (real organism, organs,
two coordinator replicas): routes stay remote or cached under concurrency, fall back to static
while the organism is gone and come back within seconds, a rotation or a rule change reaches
every coordinator replica within milliseconds, organs re-register at once, and removed organs
drain and stop."""

import itertools
import time
import uuid

import httpx
import pytest
import ray
from ray import serve

from coordinator.app import Coordinator
from coordinator.settings import CoordinatorSettings
from tests.load import Load
from tests.stack import (
    FullStack,
    deploy_full_stack,
    deploy_organism,
    eventually,
    http_client,
    tear_down_full_stack,
)

COUNTER = itertools.count()


@pytest.fixture(scope="module")
def stack(serve_url: str, tmp_path_factory: pytest.TempPathFactory) -> FullStack:
    full = deploy_full_stack(serve_url, tmp_path_factory.mktemp("remote-routing-state"))
    args = {"routing_remote": True, "organ_namespace": full.organism.settings.namespace}
    serve.run(Coordinator.options(num_replicas=2).bind(CoordinatorSettings(**args)), name="coordinator",
              route_prefix="/pipeline")
    yield full
    tear_down_full_stack(full)


@pytest.fixture
def client(stack: FullStack) -> httpx.Client:
    with http_client(stack.base_url) as c:
        yield c


def new_key() -> dict:
    return {"type": "graph_embed", "domain": f"new-{next(COUNTER)}-{uuid.uuid4().hex[:6]}"}


@pytest.mark.parametrize("concurrency", [32, 64])
@pytest.mark.parametrize("keys", ["new", "mix"])
def test_under_load_routes_stay_remote_or_cached(stack, concurrency, keys):
    mix = [{"type": t, "domain": f"d{d}"} for t in ("graph_embed", "graph_rag_query") for d in range(100)]
    body = new_key if keys == "new" else (lambda: mix[next(COUNTER) % len(mix)])
    answers = Load(stack.base_url, http_client(stack.base_url).headers, [("POST", "/pipeline/route", body)],
                   duration_s=6, concurrency=concurrency).answers()
    assert answers and all(a.status == 200 for a in answers)
    sources = [a.body["route_source"] for a in answers]
    share = sum(s in ("remote", "cache") for s in sources) / len(sources)
    why = [a.body["status"] for a in answers if a.body["route_source"] == "static"]
    assert share >= 0.99, ({s: sources.count(s) for s in set(sources)}, {w: why.count(w) for w in set(why)})


def test_the_organism_gone_routes_static_then_remote_within_seconds_of_its_return(stack, client):
    serve.delete("organism")
    statuses = [client.post("/pipeline/route", json=new_key()).json() for _ in range(8)]
    assert all(s["route_source"] == "static" for s in statuses)
    assert {s["status"] for s in statuses} <= {"remote_error", "circuit_open", "timeout"}
    stack.organism.redeploy()
    healthy_at = time.monotonic()
    eventually(lambda: client.post("/pipeline/route", json=new_key()).json()["route_source"] == "remote", timeout_s=5)
    assert time.monotonic() - healthy_at < 5


def _coordinator_replicas_agree(client: httpx.Client, key: dict, field: str, expected) -> bool:
    answers = [client.post("/pipeline/route", json=key).json() for _ in range(6)]  # both replicas
    return all(a.get(field) == expected for a in answers)


def test_a_rotation_reaches_every_coordinator_replica_within_milliseconds(stack, client):
    key = {"type": "graph_embed", "domain": "rotation"}
    delays = []
    for _ in range(10):
        epoch = client.post("/organism/registry/epoch").json()["epoch"]
        rotated_at = time.monotonic()
        eventually(lambda epoch=epoch: _coordinator_replicas_agree(client, key, "epoch", epoch), 5, 0.005)
        delays.append(time.monotonic() - rotated_at)
    # the benchmark measures the p99 precisely (README); here, a bound a loaded CI machine keeps
    assert max(delays) < 0.5, delays


def test_a_rule_change_reaches_every_coordinator_replica_within_milliseconds(stack, client):
    key = {"type": "graph_embed", "domain": "rule-change"}
    client.post("/pipeline/route", json=key)
    target = "utility_organ_1"
    assert client.put("/organism/routing/rules", json={"add": [{"task_type": "graph_embed", "domain": "rule-change",
                                                                  "logical_id": target}]}).status_code == 200
    changed_at = time.monotonic()
    eventually(lambda: _coordinator_replicas_agree(client, key, "logical_id", target), timeout_s=5, interval_s=0.005)
    assert time.monotonic() - changed_at < 0.5


def test_after_a_rotation_no_live_organ_is_reported_inactive_for_more_than_a_second(stack, client):
    client.post("/organism/registry/epoch")
    started, worst, streak_from = time.monotonic(), 0.0, None
    while time.monotonic() - started < 4:
        status = client.post("/organism/resolve-route", json={"task": {"type": "graph_embed"}}).json()["status"]
        now = time.monotonic()
        if status == "no_active_instance":
            streak_from = streak_from or now
            worst = max(worst, now - streak_from)
        else:
            streak_from = None
    assert worst < 1.0


def test_organs_removed_from_the_config_drain_and_stop(stack, serve_url, tmp_path):
    settings = stack.organism.settings
    retired = "organ:actuator_organ_1:0"
    organism = deploy_organism(serve_url, settings.state_dir, namespace=settings.namespace,
                               organs={"utility_organ_1": 1, "graph_dispatcher": 1})  # no actuator any more
    eventually(lambda: retired not in {a["name"] for a in ray.util.list_named_actors(all_namespaces=True)}, 30)
    dead = eventually(lambda: [i for i in organism.client.get("/registry").json()["instances"]
                               if i["logical_id"] == "actuator_organ_1" and i["status"] == "dead"], 30)
    assert dead and not dead[0]["active"]
    stack.organism.redeploy()  # the module's organism, as it was
