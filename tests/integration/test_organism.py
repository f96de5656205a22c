"""The organism end to end on a live local Ray cluster with real organ actors."""

import time

import pytest
import ray
from ray import serve

from contracts.wire import ResolveRouteRequest, RouteResult, TaskSpec
from organism.tasks.organ import get_or_create_organ
from tests.stack import OrganismStack, eventually

pytestmark = pytest.mark.backend  # run again on PostgreSQL: what it tests depends on the state backend


def test_resolves_to_a_live_organ_instance(organism: OrganismStack):
    answer = organism.resolve("graph_embed", "facts")
    assert (answer["logical_id"], answer["resolved_from"], answer["status"]) == (
        "graph_dispatcher",
        "task",
        "ok",
    )
    assert answer["instance_id"] == organism.active_instances()["graph_dispatcher"]
    assert answer["epoch"] == organism.client.get("/registry").json()["epoch"]


def test_statuses_for_default_and_unknown_types(organism: OrganismStack):
    fact = organism.resolve("fact_search")
    assert (fact["logical_id"], fact["resolved_from"], fact["status"]) == ("utility_organ_1", "default", "ok")
    unknown = organism.resolve("never_heard_of_it")
    assert (unknown["logical_id"], unknown["resolved_from"], unknown["status"]) == (
        "utility_organ_1",
        "fallback",
        "unknown_type",
    )


def _resolve_with_replica(organism: OrganismStack, task_type: str) -> tuple[str, dict]:
    response = organism.client.post("/resolve-route", json={"task": {"type": task_type}})
    assert response.status_code == 200, response.text
    return response.headers["x-replica-id"], response.json()


def test_resolves_hit_the_server_side_cache_until_a_refresh_clears_every_replica(organism: OrganismStack):
    organism.client.post("/routing/refresh")
    warm: set[str] = set()

    def both_replicas_warm() -> bool:
        replica, answer = _resolve_with_replica(organism, "graph_sync_nodes")
        if answer["cache_hit"]:
            assert answer["cache_age_ms"] >= 0
            warm.add(replica)
        return len(warm) == 2

    eventually(both_replicas_warm)
    time.sleep(0.5)  # every entry cached before the refresh is now visibly older than the refresh
    refreshed_at = time.monotonic()
    assert organism.client.post("/routing/refresh").status_code == 200
    fresh: set[str] = set()

    def every_replica_answers_from_after_the_refresh() -> bool:
        # the refresh reaches the other replica through the registry's feed, a few ms later: an answer
        # is fresh when it missed or its entry is younger than the refresh (the TTL is far longer than
        # this wait, so a replica the refresh missed keeps answering its older entry and this fails)
        replica, answer = _resolve_with_replica(organism, "graph_sync_nodes")
        since_refresh_ms = (time.monotonic() - refreshed_at) * 1000
        if not answer["cache_hit"] or answer["cache_age_ms"] <= since_refresh_ms:
            fresh.add(replica)
        return fresh == warm

    eventually(every_replica_answers_from_after_the_refresh)


def test_bulk_keeps_order_and_reports_each_item(organism: OrganismStack):
    tasks = [
        {"key": "a", "type": "graph_embed", "domain": "facts"},
        {"key": "b", "type": "fact_search", "domain": None},
        {"key": "c", "type": "   "},
        {"key": "d", "type": "GRAPH_EMBED", "domain": " Facts "},
        {"key": "e", "type": "mystery"},
    ]
    response = organism.client.post("/resolve-routes", json={"tasks": tasks})
    assert response.status_code == 200, response.text
    body = response.json()
    results = body["results"]
    assert [r["key"] for r in results] == ["a", "b", "c", "d", "e"]
    assert [r["status"] for r in results] == ["ok", "ok", "error", "ok", "unknown_type"]
    assert "type" in results[2]["error"]
    assert results[0]["instance_id"] == results[3]["instance_id"]
    assert all(r["epoch"] == body["epoch"] for r in results)


def test_execute_runs_the_step_on_the_organ(organism: OrganismStack):
    response = organism.client.post(
        "/execute",
        json={"logical_id": "graph_dispatcher", "task": {"type": "graph_embed", "params": {"k": 1}}},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["instance_id"] == organism.active_instances()["graph_dispatcher"]
    assert body["result"]["executed_by"] == "graph_dispatcher"
    assert body["result"]["params"] == {"k": 1}


async def test_routes_are_callable_through_a_deployment_handle(organism: OrganismStack):
    handle = serve.get_app_handle("organism")
    answer = await handle.resolve_route.remote(
        ResolveRouteRequest(task=TaskSpec(type="graph_embed", domain="facts"))
    )
    assert isinstance(answer, RouteResult)
    assert answer.logical_id == "graph_dispatcher" and answer.status == "ok"


def test_correlation_id_is_echoed_or_generated(organism: OrganismStack):
    echoed = organism.client.get("/health", headers={"X-Correlation-ID": "trace-42"})
    assert echoed.headers["x-correlation-id"] == "trace-42"
    generated = organism.client.get("/health")
    assert len(generated.headers["x-correlation-id"]) >= 16


def test_malformed_bodies_are_422_naming_the_field(organism: OrganismStack):
    cases = [
        ("/resolve-route", {"task": {"domain": "facts"}}, "task.type"),
        ("/resolve-route", {"task": {"type": "   "}}, "task.type"),
        ("/resolve-route", {"task": {"type": 5}}, "task.type"),
        ("/resolve-route", {}, "task"),
        ("/resolve-routes", {"tasks": "nope"}, "tasks"),
        ("/resolve-routes", {"tasks": [{"type": 1}]}, "tasks.0.type"),
        ("/resolve-routes", {"tasks": [{"type": "x"}] * 1001}, "tasks"),
        ("/execute", {"logical_id": "nobody", "task": {"type": "x"}}, "logical_id"),
    ]
    for path, body, field in cases:
        response = organism.client.post(path, json=body)
        assert response.status_code == 422, (path, body, response.text)
        fields = [d["field"] for d in response.json()["error"]["details"]]
        assert field in fields, (path, body, fields)
    not_json = organism.client.post("/resolve-route", content=b"{not json", headers={"content-type": "application/json"})
    assert not_json.status_code == 422


def test_bulk_accepts_exactly_one_thousand_items(organism: OrganismStack):
    response = organism.client.post("/resolve-routes", json={"tasks": [{"type": "graph_embed"}] * 1000})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1000


def test_a_flood_of_unknown_preferred_ids_caches_nothing_of_them(organism: OrganismStack):
    """Ten bulk requests of 1,000 distinct preferred ids that name no organ: every item falls through to
    its rule, and afterwards a replica holds entries for the organs only (before, 10,000 absent ones)."""
    assert organism.client.post("/routing/refresh").status_code == 200  # every replica starts empty
    for request in range(10):
        tasks = [{"type": "graph_embed", "preferred_logical_id": f"nobody-{request}-{n}"} for n in range(1000)]
        response = organism.client.post("/resolve-routes", json={"tasks": tasks})
        assert response.status_code == 200, response.text
        answers = {(r["logical_id"], r["resolved_from"], r["status"]) for r in response.json()["results"]}
        assert answers == {("graph_dispatcher", "task", "ok")}
    refreshed = organism.client.post("/routing/refresh")
    assert refreshed.status_code == 200
    assert refreshed.json()["cleared_entries"] <= len(organism.settings.organs)


def test_bad_rule_change_is_422_and_changes_nothing(organism: OrganismStack):
    before = organism.client.get("/routing/rules").json()
    response = organism.client.put(
        "/routing/rules",
        json={
            "add": [
                {"task_type": "fine_type", "logical_id": "utility_organ_1"},
                {"task_type": "bad_type", "logical_id": "no_such_organ"},
            ]
        },
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "add.1.logical_id"
    assert organism.client.get("/routing/rules").json() == before


def test_rule_change_through_one_replica_is_seen_by_the_other(organism: OrganismStack):
    response = organism.client.put(
        "/routing/rules",
        json={"add": [{"task_type": "ledger_sync", "domain": "finance", "logical_id": "actuator_organ_1"}]},
    )
    assert response.status_code == 200, response.text
    writer = response.headers["x-replica-id"]
    rule = {"task_type": "ledger_sync", "domain": "finance", "logical_id": "actuator_organ_1"}

    def other_replica_has_rule() -> bool:
        answer = organism.client.get("/routing/rules")
        return answer.headers["x-replica-id"] != writer and rule in answer.json()["rules"]

    eventually(other_replica_has_rule)
    answer = organism.resolve("ledger_sync", "finance")
    assert (answer["logical_id"], answer["resolved_from"]) == ("actuator_organ_1", "domain")
    removed = organism.client.put("/routing/rules", json={"remove": [{"task_type": "ledger_sync", "domain": "finance"}]})
    assert removed.status_code == 200
    assert rule not in removed.json()["rules"]


def test_killed_organ_becomes_no_active_instance_within_the_timeout(organism: OrganismStack):
    settings = organism.settings
    actor_name = "organ:actuator_organ_1:0"
    ray.kill(organism.organ_actor(actor_name), no_restart=True)
    bound = settings.heartbeat_timeout_s + settings.instance_cache_ttl_s + settings.heartbeat_interval_s + 1
    answer = eventually(
        lambda: (r := organism.resolve("execute"))["status"] == "no_active_instance" and r, timeout_s=bound
    )
    assert answer["logical_id"] == "actuator_organ_1" and answer["instance_id"] is None
    # bring the organ back the way the manager does: a new instance registers and routing recovers
    get_or_create_organ(
        actor_name,
        "actuator_organ_1",
        settings.namespace,
        organism.registry_actor(),
        settings.heartbeat_interval_s,
        settings.heartbeat_jitter_s,
    )
    eventually(lambda: organism.resolve("execute")["status"] == "ok")


def test_epoch_rotation_reaches_responses_and_organs_reregister(organism: OrganismStack):
    before = organism.client.get("/registry").json()["epoch"]
    rotated = organism.client.post("/registry/epoch").json()
    assert rotated["previous_epoch"] == before and rotated["epoch"] != before
    new_epoch = rotated["epoch"]
    eventually(lambda: all(organism.resolve("graph_embed")["epoch"] == new_epoch for _ in range(4)))
    answer = eventually(lambda: (r := organism.resolve("graph_embed"))["status"] == "ok" and r)
    instances = organism.client.get("/registry").json()["instances"]
    chosen = next(i for i in instances if i["instance_id"] == answer["instance_id"])
    assert chosen["epoch"] == new_epoch and chosen["active"]


def test_registry_restart_keeps_epoch_and_rules(organism: OrganismStack):
    rule = {"task_type": "survivor", "domain": None, "logical_id": "utility_organ_1"}
    assert organism.client.put("/routing/rules", json={"add": [rule]}).status_code == 200
    epoch = organism.client.post("/registry/epoch").json()["epoch"]
    ray.kill(organism.registry_actor(), no_restart=False)

    def restarted_and_healthy() -> bool:
        return organism.client.get("/health").status_code == 200

    eventually(restarted_and_healthy, timeout_s=30)
    assert organism.client.get("/registry").json()["epoch"] == epoch
    eventually(lambda: rule in organism.client.get("/routing/rules").json()["rules"])
    # instances are soft state: organs re-register through their heartbeats
    eventually(organism.all_organs_active, timeout_s=30)
    answer = eventually(lambda: (r := organism.resolve("survivor"))["status"] == "ok" and r)
    assert answer["resolved_from"] == "task" and answer["epoch"] == epoch
