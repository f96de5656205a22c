"""A resolution explained: the rule that matched, each instance of the logical ids considered with its checks'
verdicts in order up to the first that fails, and the one chosen."""

import pytest

from contracts.registry import Instance, InstanceReport, InstanceStatus, RegistrySnapshot
from contracts.routing_table import RuleTable
from contracts.wire import RouteStatus
from organism.tasks.explain import explain
from organism.tasks.resolution import Resolution, RouteQuery

NOW = 1_000.0
EPOCH = "epoch-000002"


def instance(instance_id: str, logical_id: str = "graph_dispatcher", status: str = "alive", epoch: str = EPOCH,
             heartbeat_age_s: float = 1.0) -> InstanceReport:
    found = Instance(instance_id, logical_id, epoch, InstanceStatus(status), f"organ:{instance_id}", None, 0.0,
                     NOW - heartbeat_age_s)
    return InstanceReport(found, status == "alive" and epoch == EPOCH and heartbeat_age_s < 15)


CASES = [  # name, the instance, its verdicts: (check, passed) in order
    ("a live one", instance("ok"), [("alive", True), ("current_epoch", True), ("fresh_heartbeat", True)]),
    ("draining", instance("drain", status="draining"), [("alive", False)]),
    ("an older epoch", instance("old", epoch="epoch-000001"), [("alive", True), ("current_epoch", False)]),
    ("silent", instance("quiet", heartbeat_age_s=20), [("alive", True), ("current_epoch", True), ("fresh_heartbeat", False)]),
]


@pytest.mark.parametrize("name, report, expected", CASES, ids=[c[0] for c in CASES])
def test_each_instance_is_judged_by_the_registrys_checks_in_order(name, report, expected):
    snapshot = RegistrySnapshot(EPOCH, 15.0, (report,))
    query = RouteQuery(("graph_embed", None))
    resolution = Resolution("graph_dispatcher", None, RouteStatus.OK, report.instance.instance_id)
    (shown,) = explain(query, RuleTable().match("graph_embed", None), resolution, snapshot, NOW)["candidates"]
    assert [(v["filter"], v["passed"]) for v in shown["verdicts"]] == expected
    assert all(v["reason"] for v in shown["verdicts"] if not v["passed"])


def test_the_rule_that_matched_the_instances_considered_and_the_one_chosen():
    table = RuleTable()
    snapshot = RegistrySnapshot(EPOCH, 15.0, (instance("g1"), instance("g0", heartbeat_age_s=20),
                                              instance("u0", "utility_organ_1"), instance("a0", "actuator_organ_1")))
    query = RouteQuery(("fact_search", "legal"), preferred_logical_id="actuator_organ_1")
    resolution = Resolution("utility_organ_1", None, RouteStatus.OK, "u0")
    shown = explain(query, table.match("fact_search", "legal"), resolution, snapshot, NOW)
    assert shown["rule"] == {"resolved_from": "default", "matched": "fact_*", "logical_id": "utility_organ_1"}
    assert [(c["instance_id"], c["chosen"]) for c in shown["candidates"]] == [("a0", False), ("u0", True)]
    assert shown["outcome"] == {"status": "ok", "logical_id": "utility_organ_1", "instance_id": "u0"}


@pytest.mark.parametrize("task_type, domain, resolved_from, matched", [
    ("graph_embed", "facts", "task", "graph_embed"),
    ("health_check", None, "default", "health_check"),
    ("nothing_known", None, "fallback", None),
])
def test_what_matched_is_named(task_type, domain, resolved_from, matched):
    match = RuleTable().match(task_type, domain)
    assert (match.resolved_from.value, match.rule) == (resolved_from, matched)
