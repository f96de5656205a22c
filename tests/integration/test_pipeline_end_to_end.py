"""All three applications on the shared cluster, with real organs."""

import pytest
from ray import serve

from cognitive.app import build_app as build_cognitive
from coordinator.app import build_app as build_coordinator
from tests.stack import ADMIN_HEADERS, OrganismStack, deploy_organism, eventually, http_client, tear_down_organism

TASK = {"type": "graph_rag_query_v2", "domain": "facts", "params": {"q": "who"}}


@pytest.fixture(scope="module")
def stack(serve_url: str, tmp_path_factory: pytest.TempPathFactory):
    organism = deploy_organism(serve_url, tmp_path_factory.mktemp("e2e-state"))
    serve.run(build_cognitive({}), name="cognitive", route_prefix="/cognitive")
    coordinator_args = {
        "routing_remote": True,
        "organ_namespace": organism.settings.namespace,
        # generous budgets: this test is about the flow, the budgets have their own tests
        "route_single_timeout_s": 2.0,
        "route_bulk_timeout_s": 2.0,
    }
    serve.run(build_coordinator(coordinator_args), name="coordinator", route_prefix="/pipeline")
    client = http_client(serve_url)
    yield organism, client
    client.close()
    serve.delete("coordinator")
    serve.delete("cognitive")
    tear_down_organism(organism)


def test_plan_task_returns_abstract_steps_only(stack):
    _, client = stack
    plan = client.post("/cognitive/plan-task", json={"task": TASK}).json()
    assert [s["task"]["type"] for s in plan["solution_steps"]] == ["graph_embed_v2", "graph_fact_query", "graph_rag_query_v2"]
    assert all(set(s) == {"task"} and set(s["task"]) == {"type", "domain", "params"} for s in plan["solution_steps"])


def test_escalated_task_is_routed_and_executed_step_by_step(stack):
    organism, client = stack
    response = client.post("/pipeline/tasks", json=TASK)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decision"] == "escalate" and body["task_id"]
    live = organism.active_instances()
    steps = body["steps"]
    assert [(s["type"], s["route_source"]) for s in steps] == [
        ("graph_embed_v2", "remote"),
        ("graph_fact_query", "static"),  # not in ROUTING_REMOTE_TYPES
        ("graph_rag_query_v2", "remote"),
    ]
    for step in steps:
        assert step["logical_id"] == "graph_dispatcher" and step["error"] is None
        assert step["result"]["instance_id"] == live["graph_dispatcher"]
        assert step["result"]["params"] == {"q": "who"}
    again = client.post("/pipeline/tasks", json=TASK).json()
    assert again["steps"][0]["route_source"] == "cache"


def test_once_the_coordinator_knows_the_active_instance_a_step_goes_to_it_directly(stack):
    organism, client = stack
    fast = {"type": "graph_embed", "domain": "facts"}

    def step() -> dict:
        response = client.post("/pipeline/tasks", json=fast, headers={"X-Correlation-ID": "direct-1"})
        assert response.status_code == 200, response.text
        return response.json()["steps"][0]

    direct = eventually(lambda: (found := step())["executed_via"] == "instance" and found)
    assert direct["error"] is None and direct["result"]["instance_id"] == organism.active_instances()[direct["logical_id"]]
    rotated = organism.client.post("/registry/epoch", headers=ADMIN_HEADERS)  # what the coordinator knew is forgotten
    assert rotated.status_code == 200, rotated.text
    after = eventually(lambda: (found := step())["result"]["epoch"] != direct["result"]["epoch"] and found)
    assert after["executed_via"] in ("organism", "instance")
    assert after["result"]["instance_id"] == organism.active_instances()[after["logical_id"]]


@pytest.mark.parametrize("task_type", ["health_check", "HEALTH_CHECK", "  Health_Check "])
def test_a_task_type_is_the_same_type_however_it_is_spelt_down_to_the_organs_handler(stack, task_type):
    """Regression: the organ picked its handler by the raw type, so HEALTH_CHECK ran the echo handler."""
    _, client = stack
    response = client.post("/pipeline/tasks", json={"type": task_type})
    assert response.status_code == 200, response.text
    step = response.json()["steps"][0]
    assert (step["type"], step["logical_id"]) == ("health_check", "utility_organ_1")
    assert step["result"]["healthy"] is True and "executed_by" not in step["result"]


def test_with_the_organism_deleted_tasks_still_succeed_on_static_routes(stack):
    organism: OrganismStack = stack[0]
    client = stack[1]
    live = organism.active_instances()
    serve.delete("organism")
    response = client.post("/pipeline/tasks", json={**TASK, "domain": "other"})
    assert response.status_code == 200, response.text
    for step in response.json()["steps"]:
        assert step["route_source"] == "static" and step["error"] is None
        assert step["executed_via"] in ("instance", "organ")  # the organ actor, known before or found by name
        assert step["result"]["instance_id"] == live[step["logical_id"]]
    fast = client.post("/pipeline/tasks", json={"type": "execute"}).json()["steps"][0]
    assert (fast["logical_id"], fast["route_source"]) == ("actuator_organ_1", "static")
    assert fast["executed_via"] in ("instance", "organ")
