"""Reliability under load: kill organs, the registry, the picker and a replica;
rotate the epoch; empty the registry. Routing keeps answering, nothing accepted
is lost, and no executor slot is double-booked. Loopback only, bounded in time."""

import time
import uuid
from collections import Counter

import pytest
import ray
from ray import serve
from ray.util import list_named_actors

from cognitive.app import build_app as build_cognitive
from coordinator.app import build_app as build_coordinator
from organism.tasks.organ import get_or_create_organ
from tests.load import Load
from tests.stack import (
    ADMIN_HEADERS,
    OrganismStack,
    deploy_organism,
    eventually,
    tear_down_organism,
)

pytestmark = pytest.mark.backend  # run again on PostgreSQL: what it tests depends on the state backend

CLASS = "always_on.test"
ROUTE_TRAFFIC = [
    ("POST", "/pipeline/route", {"type": "graph_embed", "domain": "facts"}),
    ("POST", "/pipeline/route", {"type": "graph_rag_query", "domain": None}),
    ("POST", "/pipeline/tasks", {"type": "graph_rag_query_v2", "domain": "facts"}),
    ("POST", "/organism/resolve-route", {"task": {"type": "graph_embed", "domain": "facts"}}),
    ("POST", "/organism/resolve-routes", {"tasks": [{"type": "graph_embed"}, {"type": "fact_search"}, {"type": "execute"}]}),
]
EXPECTED_ORGAN = {"graph_embed": "graph_dispatcher", "graph_rag_query": "graph_dispatcher"}


@pytest.fixture(scope="module")
def stack(serve_url: str, tmp_path_factory: pytest.TempPathFactory):
    organism = deploy_organism(serve_url, tmp_path_factory.mktemp("reliability-state"))
    serve.run(build_cognitive({}), name="cognitive", route_prefix="/cognitive")
    args = {"routing_remote": True, "organ_namespace": organism.settings.namespace}
    serve.run(build_coordinator(args), name="coordinator", route_prefix="/pipeline")
    yield organism
    serve.delete("coordinator")
    serve.delete("cognitive")
    tear_down_organism(organism)


def route_load(stack: OrganismStack, duration_s: float = 6.0) -> Load:
    return Load(stack.base_url, ADMIN_HEADERS, ROUTE_TRAFFIC, duration_s)


def assert_routing_kept_answering(answers, organs_alive: bool = True) -> None:
    """Every request answered 200 with the right organ; steps executed whenever their organ lives."""
    assert len(answers) > 20
    failures = [(a.path, a.status, a.body) for a in answers if a.status != 200]
    assert failures == [], failures[:5]
    for answer in answers:
        if answer.path == "/pipeline/route":
            assert answer.body["logical_id"] == EXPECTED_ORGAN[answer.body["type"]]
        if answer.path == "/pipeline/tasks":
            steps = answer.body["steps"]
            assert [s["logical_id"] for s in steps] == ["graph_dispatcher"] * 3
            if organs_alive:
                assert all(s["error"] is None and s["result"] for s in steps), answer.body


def restore_organs(stack: OrganismStack) -> None:
    settings = stack.settings
    for actor_name, logical_id in settings.organ_actor_names().items():
        get_or_create_organ(actor_name, logical_id, settings.namespace, stack.registry_actor(),
                            settings.heartbeat_interval_s, settings.heartbeat_jitter_s)
    eventually(stack.all_organs_active, timeout_s=30)


def test_killing_an_organ_under_load(stack):
    load = route_load(stack)
    time.sleep(1.5)
    ray.kill(stack.organ_actor("organ:graph_dispatcher:0"), no_restart=True)
    answers = load.answers()
    assert_routing_kept_answering(answers, organs_alive=False)
    late = [a.body for a in answers if a.path == "/organism/resolve-route"][-3:]
    assert {b["status"] for b in late} == {"no_active_instance"}  # noticed within the load window
    restore_organs(stack)


def test_emptying_the_registry_under_load(stack):
    load = route_load(stack)
    time.sleep(1.5)
    for actor_name in stack.settings.organ_actor_names():
        ray.kill(stack.organ_actor(actor_name), no_restart=True)
    answers = load.answers()
    assert_routing_kept_answering(answers, organs_alive=False)
    assert stack.active_instances() == {}
    restore_organs(stack)


def test_rotating_the_epoch_under_load(stack):
    load = route_load(stack)
    epochs = []
    for _ in range(3):
        time.sleep(1.2)
        epochs.append(stack.client.post("/registry/epoch").json()["epoch"])
    answers = load.answers()
    assert_routing_kept_answering(answers)
    assert len(set(epochs)) == 3
    eventually(lambda: stack.resolve("graph_embed")["epoch"] == epochs[-1] and stack.resolve("graph_embed")["status"] == "ok")


def test_killing_the_registry_under_load(stack):
    rule = {"task_type": "durable_rule", "domain": None, "logical_id": "utility_organ_1"}
    assert stack.client.put("/routing/rules", json={"add": [rule]}).status_code == 200
    epoch = stack.client.get("/registry").json()["epoch"]
    load = route_load(stack)
    time.sleep(1.5)
    ray.kill(stack.registry_actor(), no_restart=False)
    answers = load.answers()
    assert_routing_kept_answering(answers)
    eventually(lambda: stack.client.get("/health").status_code == 200, timeout_s=30)
    assert stack.client.get("/registry").json()["epoch"] == epoch
    assert rule in stack.client.get("/routing/rules").json()["rules"]
    eventually(stack.all_organs_active, timeout_s=30)


def test_killing_an_organism_replica_under_load(stack):
    replicas = [a["name"] for a in list_named_actors(all_namespaces=True) if "OrganismManager" in a["name"]]
    assert len(replicas) == 2
    coordinator_only = [r for r in ROUTE_TRAFFIC if r[1].startswith("/pipeline")]
    load = Load(stack.base_url, ADMIN_HEADERS, coordinator_only, duration_s=6)
    time.sleep(1.5)
    ray.kill(ray.get_actor(replicas[0], namespace="serve"), no_restart=True)
    assert_routing_kept_answering(load.answers())
    eventually(lambda: stack.client.get("/health").status_code == 200)
    eventually(lambda: len([a for a in list_named_actors(all_namespaces=True) if "OrganismManager" in a["name"]]) == 2, timeout_s=60)


def test_killing_the_picker_under_load_loses_no_booking(stack):
    client = stack.client
    online = {"p-a": 5, "p-b": 3}
    for hotkey in online:
        client.put(f"/miners/{hotkey}", json={"address": "127.0.0.1", "port": 1, "collateral_wei": 10**17})
    client.post("/manifests", json={"manifests": [
        {"hotkey": h, "executor_class": CLASS, "online_executor_count": n, "executor_count": n} for h, n in online.items()]})
    client.put("/allowances", json={"cycle": {"start": -14, "stop": 708}, "allowances": [
        {"hotkey": h, "initial": 1e6, "remaining": 1e6} for h in online]})
    client.put("/chain", json={"block": 25})
    client.patch("/config", json={"DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS": 600})

    def job() -> dict:
        return {"uuid": str(uuid.uuid4()), "executor_class": CLASS, "download_time_limit": 1,
                "execution_time_limit": 1, "upload_time_limit": 1}

    load = Load(stack.base_url, ADMIN_HEADERS, [("POST", "/organism/jobs/route", job)], duration_s=5, concurrency=6)
    time.sleep(0.3)
    ray.kill(ray.get_actor(stack.settings.picker_actor_name, namespace=stack.settings.namespace), no_restart=False)
    answers = load.answers()
    assert {a.status for a in answers} <= {200, 503}, Counter(a.status for a in answers)
    accepted = [a.body for a in answers if a.status == 200]
    assert Counter(b["miner"]["hotkey"] for b in accepted) == Counter(online)  # every slot once, none twice
    for booking in accepted:  # every accepted booking survived the restart
        replay = client.post("/jobs/route", json={**job(), "uuid": booking["job_uuid"]}).json()
        assert replay["replayed"] and replay["miner"] == booking["miner"]
