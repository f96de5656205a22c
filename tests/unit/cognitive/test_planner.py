import pytest
from pydantic import ValidationError

from cognitive.planner import PlanGuardError, Planner, Template, guard
from contracts.routing_table import DEFAULT_CATEGORIES, DEFAULT_RULES
from contracts.wire import TaskSpec

PLANNER = Planner.from_file()


def step_types(plan) -> list[str]:
    return [s.task.type for s in plan.solution_steps]


def test_every_task_family_of_the_default_table_has_a_template():
    families = [r.task_type for r in DEFAULT_RULES] + [c.pattern.replace("*", "x") for c in DEFAULT_CATEGORIES]
    for family in families:
        plan = PLANNER.plan(TaskSpec(type=family))
        assert plan.meta["template"] is not None, family


def test_multi_step_plan_inherits_domain_and_params():
    plan = PLANNER.plan(TaskSpec(type="Graph_RAG_Query_V2", domain=" Facts ", params={"q": "why"}))
    assert step_types(plan) == ["graph_embed_v2", "graph_fact_query", "graph_rag_query_v2"]
    assert {s.task.domain for s in plan.solution_steps} == {"facts"}
    assert all(s.task.params == {"q": "why"} for s in plan.solution_steps)
    assert plan.meta["step_count"] == 3


def test_own_type_placeholder():
    assert step_types(PLANNER.plan(TaskSpec(type="inventory_manage"))) == ["health_check", "inventory_manage"]


def test_unknown_type_gets_a_one_step_plan():
    plan = PLANNER.plan(TaskSpec(type="something_new"))
    assert step_types(plan) == ["something_new"] and plan.meta["template"] is None


def test_routing_keys_of_the_task_are_not_carried_into_steps():
    plan = PLANNER.plan(TaskSpec(type="fact_search", params={"logical_id": "x", "k": 1}))
    assert all(s.task.params == {"k": 1} for s in plan.solution_steps)


@pytest.mark.parametrize(
    "plan",
    [
        {"solution_steps": [{"task": {"type": "a"}, "logical_id": "organ"}]},
        {"solution_steps": [{"task": {"type": "a", "instance_id": "i-1"}}]},
        {"solution_steps": [{"task": {"type": "a", "params": {"deep": [{"organ_id": "x"}]}}}]},
        {"solution_steps": []},
        {"solution_steps": [{"task": {"type": "a"}}] * 17},
    ],
)
def test_guard_rejects_routing_and_bad_structure(plan):
    with pytest.raises((PlanGuardError, ValidationError)):
        guard(plan)


def test_guard_checks_keys_not_substrings():
    plan = guard({"solution_steps": [{"task": {"type": "a", "params": {"text": "logical_id instance_id organ"}}}]})
    assert plan.solution_steps[0].task.params["text"].startswith("logical_id")


def test_templates_longer_than_sixteen_steps_are_refused():
    with pytest.raises(ValidationError):
        Template(match="x", steps=["a"] * 17)


def test_routing_keys_nested_in_params_are_not_carried_either():
    plan = PLANNER.plan(TaskSpec(type="fact_search", params={"deep": [{"organ_id": "x", "keep": 1}], "k": {"instance_id": 2}}))
    assert plan.solution_steps[0].task.params == {"deep": [{"keep": 1}], "k": {}}


@pytest.mark.parametrize("blank", ["", "   ", "\x1f", "\t\n", "\x1c\x1d"])
def test_a_type_blank_by_pythons_rules_is_rejected_up_front(blank):
    with pytest.raises(ValidationError):
        TaskSpec(type=blank)
