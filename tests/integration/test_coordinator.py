"""The coordinator against every row of the contract's failure matrix.

The organism is the scripted stand-in (tests/integration/scripted_organism.py),
reached through a real DeploymentHandle; Cognitive is the real planner.
"""

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import ray
from ray import serve

from cognitive.app import build_app as build_cognitive
from coordinator.app import build_app as build_coordinator
from organism.settings import OrganismSettings
from organism.tasks.registry_actor import get_or_create_registry
from tests.integration.scripted_organism import ScriptedOrganismDeployment
from tests.stack import ADMIN_HEADERS, eventually, http_client

REMOTE_TYPES = "graph_embed,graph_rag_query,graph_embed_v2,graph_rag_query_v2,graph_fact_query,fact_search,mystery"


@pytest.fixture(scope="module")
def scripted(serve_url: str, tmp_path_factory: pytest.TempPathFactory):
    # a runtime registry of its own: the coordinator's cache answers only under the lease on its feed
    registry_settings = OrganismSettings(namespace=f"coordinator-{uuid.uuid4().hex[:8]}",
                                         state_dir=tmp_path_factory.mktemp("coordinator-registry"))
    registry = get_or_create_registry(registry_settings)
    handle = serve.run(ScriptedOrganismDeployment.bind(), name="scripted-organism", route_prefix=None)
    serve.run(build_cognitive({}), name="cognitive-under-test", route_prefix=None)
    handle.registry_namespace = registry_settings.namespace
    yield handle
    serve.delete("scripted-organism")
    serve.delete("cognitive-under-test")
    ray.kill(registry)


@pytest.fixture
def pipeline(serve_url: str, scripted) -> Callable[..., httpx.Client]:
    clients: list[httpx.Client] = []

    def deploy(organism: dict[str, Any] | None = None, **settings: Any) -> httpx.Client:
        scripted.configure.remote(**(organism or {})).result()
        args = {
            "routing_remote": True,
            "routing_remote_types": REMOTE_TYPES,
            # budgets generous enough for a loaded CI box; the budget test sets the contract's own
            "route_single_timeout_s": 2.0,
            "route_bulk_timeout_s": 2.0,
            "organism_app": "scripted-organism",
            "cognitive_app": "cognitive-under-test",
            "organ_namespace": scripted.registry_namespace,
            **settings,
        }
        serve.run(build_coordinator(args), name="pipeline-under-test", route_prefix="/pipeline-test")
        clients.append(http_client(serve_url + "/pipeline-test"))
        # the ingress learns a new route a moment after serve.run returns (longer on a loaded box)
        eventually(lambda: clients[-1].get("/health").status_code == 200, timeout_s=30)
        return clients[-1]

    yield deploy
    for client in clients:
        client.close()
    serve.delete("pipeline-under-test")


def route(client: httpx.Client, task_type: str, domain: str | None = None) -> dict[str, Any]:
    response = client.post("/route", json={"type": task_type, "domain": domain})
    assert response.status_code == 200, response.text
    return response.json()


def calls(scripted) -> dict[str, int]:
    return scripted.calls.remote().result()


def test_remote_answer_then_cache(pipeline, scripted):
    client = pipeline()
    first = route(client, "graph_embed", "facts")
    second = route(client, "Graph_Embed", " FACTS")
    assert (first["route_source"], first["logical_id"], first["epoch"]) == ("remote", "organ_for_graph_embed", "e1")
    assert (second["route_source"], second["logical_id"]) == ("cache", "organ_for_graph_embed")
    assert calls(scripted)["keys"] == 1


def test_flag_off_routes_statically_without_calling_the_organism(pipeline, scripted):
    client = pipeline(routing_remote=False)
    answer = route(client, "graph_embed")
    assert (answer["route_source"], answer["logical_id"], answer["status"]) == ("static", "graph_dispatcher", "remote_disabled")
    task = client.post("/tasks", json={"type": "graph_rag_query_v2"}).json()
    assert {s["route_source"] for s in task["steps"]} == {"static"}
    assert calls(scripted)["single"] == calls(scripted)["bulk"] == 0


def test_organism_timeout_uses_static_routing(pipeline, scripted):
    client = pipeline(organism={"delay_s": 0.5}, route_single_timeout_s=0.05, route_bulk_timeout_s=0.1,
                      route_budget_ceiling_s=0.1)
    answer = route(client, "graph_embed")
    assert (answer["route_source"], answer["logical_id"], answer["status"]) == ("static", "graph_dispatcher", "timeout")


def test_circuit_opens_after_five_failures_and_stops_calling(pipeline, scripted):
    client = pipeline(organism={"fail": True})
    statuses = [route(client, "graph_embed")["status"] for _ in range(7)]
    assert statuses == ["remote_error"] * 5 + ["circuit_open"] * 2
    assert calls(scripted)["keys"] == 5
    assert all(route(client, "fact_search")["route_source"] == "static" for _ in range(3))
    assert calls(scripted)["keys"] == 5
    stats = client.get("/stats").json()  # the replica's window: five remote calls, all failed, the breaker open
    assert (stats["breaker"], stats["remote_calls"], stats["remote_failures"]) == ("open", 5, 5)
    assert [alert["name"] for alert in stats["alerts"]] == ["RoutingHighErrorRate"]


def test_no_active_instance_uses_static_routing(pipeline, scripted):
    client = pipeline(organism={"status": {"graph_embed": "no_active_instance"}})
    answer = route(client, "graph_embed")
    assert (answer["route_source"], answer["logical_id"], answer["status"]) == ("static", "graph_dispatcher", "no_active_instance")
    route(client, "graph_embed")
    assert calls(scripted)["keys"] == 2  # never cached


def test_unknown_type_uses_static_routing(pipeline, scripted):
    client = pipeline(organism={"status": {"mystery": "unknown_type"}})
    answer = route(client, "mystery")
    assert (answer["route_source"], answer["logical_id"], answer["resolved_from"], answer["status"]) == (
        "static",
        "utility_organ_1",
        "fallback",
        "unknown_type",
    )


def test_epoch_rotation_clears_the_cache_and_routing_continues(pipeline, scripted):
    client = pipeline()
    route(client, "graph_embed")
    assert route(client, "graph_embed")["route_source"] == "cache"
    scripted.configure.remote(epoch="e2").result()
    rotated = route(client, "fact_search")
    assert (rotated["route_source"], rotated["epoch"]) == ("remote", "e2")
    assert route(client, "fact_search")["route_source"] == "cache"  # the answer that brought e2 is kept
    again = route(client, "graph_embed")
    assert (again["route_source"], again["epoch"]) == ("remote", "e2")


def test_registry_empty_routes_every_step_statically_and_still_executes(pipeline, scripted):
    empty = {t: "no_active_instance" for t in REMOTE_TYPES.split(",")}
    client = pipeline(organism={"status": empty})
    response = client.post("/tasks", json={"type": "graph_rag_query_v2", "domain": "facts"})
    assert response.status_code == 200, response.text
    steps = response.json()["steps"]
    assert [s["type"] for s in steps] == ["graph_embed_v2", "graph_fact_query", "graph_rag_query_v2"]
    assert {(s["route_source"], s["status"], s["logical_id"]) for s in steps} == {
        ("static", "no_active_instance", "graph_dispatcher")
    }
    assert all(s["result"]["executed_by"] == "graph_dispatcher" for s in steps)


def test_partial_bulk_failure_falls_back_for_the_failed_items_only(pipeline, scripted):
    client = pipeline(organism={"status": {"graph_fact_query": "error"}})
    response = client.post("/tasks", json={"type": "graph_rag_query_v2", "domain": "facts"})
    body = response.json()
    assert body["decision"] == "escalate"
    sources = [(s["type"], s["route_source"], s["status"]) for s in body["steps"]]
    assert sources == [
        ("graph_embed_v2", "remote", "ok"),
        ("graph_fact_query", "static", "error"),
        ("graph_rag_query_v2", "remote", "ok"),
    ]
    assert calls(scripted)["bulk"] == 1 and calls(scripted)["bulk_items"] == 3


def test_fast_path_routes_once_and_executes(pipeline, scripted):
    client = pipeline()
    response = client.post(
        "/tasks", json={"type": "graph_embed", "domain": "facts", "params": {"x": 1}}, headers={"X-Correlation-ID": "corr-7"}
    )
    body = response.json()
    assert body["decision"] == "fast" and body["correlation_id"] == "corr-7"
    (step,) = body["steps"]
    assert (step["logical_id"], step["route_source"], step["executed_via"]) == ("organ_for_graph_embed", "remote", "organism")
    assert step["result"] == {"executed_by": "organ_for_graph_embed", "task_type": "graph_embed"}
    assert scripted.forwarding_services.remote().result() == ["coordinator"]  # identity passed along


def test_drift_scores_escalate_once_the_valve_fires(pipeline, scripted):
    client = pipeline()
    decisions = [
        client.post("/tasks", json={"type": "graph_embed", "drift_score": 0.3}).json()["decision"] for _ in range(3)
    ]
    assert decisions == ["fast", "fast", "escalate"]
    assert client.post("/tasks", json={"type": "graph_embed", "escalate": True}).json()["decision"] == "escalate"


async def post_concurrently(base_url: str, path: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits, headers=ADMIN_HEADERS) as client:
        return await asyncio.gather(*(client.post(path, json=body) for body in bodies))


def test_escalations_beyond_the_cap_get_429(pipeline, scripted, serve_url):
    pipeline(organism={"execute_delay_s": 0.5}, max_inflight_escalations=1)
    responses = asyncio.run(
        post_concurrently(serve_url + "/pipeline-test", "/tasks", [{"type": "graph_rag_query_v2"}] * 4)
    )
    codes = sorted(r.status_code for r in responses)
    assert codes[0] == 200 and 429 in codes
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["type"] == "TooManyEscalations"


def test_bad_task_is_422_naming_the_field(pipeline, scripted):
    client = pipeline()
    response = client.post("/tasks", json={"domain": "facts", "drift_score": -1})
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert {"type", "drift_score"} <= fields


def test_hundreds_of_concurrent_cold_routes_make_one_remote_call_per_key(pipeline, scripted, serve_url):
    # correctness under load, not the latency budget; entries must not lapse while the load runs
    pipeline(route_single_timeout_s=5.0, route_cache_ttl_s=600.0)
    keys = [("graph_embed", "facts"), ("graph_embed", None), ("graph_rag_query", "facts"),
            ("fact_search", None), ("fact_search", "web"), ("mystery", None)]
    requests = [keys[i % len(keys)] for i in range(300)]
    bodies = [{"type": t, "domain": d} for t, d in requests]
    responses = asyncio.run(post_concurrently(serve_url + "/pipeline-test", "/route", bodies))
    for (task_type, _), response in zip(requests, responses, strict=True):
        assert response.status_code == 200
        body = response.json()
        assert body["logical_id"] == f"organ_for_{task_type}" and body["route_source"] in {"remote", "cache"}
    assert calls(scripted)["keys"] == len(keys)
    handle = serve.get_app_handle("pipeline-under-test")
    stats = handle.stats.remote().result()
    assert stats["remote_calls"] == stats["batches"] <= len(keys)  # coalesced: at most one call per key


def test_a_step_that_times_out_is_not_run_again_on_the_organ(pipeline, scripted):
    client = pipeline(organism={"execute_delay_s": 1.0}, execute_timeout_s=0.3)
    step = client.post("/tasks", json={"type": "graph_embed"}).json()["steps"][0]
    # the organism may have run it: no second run on the organ (which would fail differently here)
    assert step["error"] == "step could not run: TimeoutError" and step["result"] is None
    assert "Traceback" not in step["error"]
