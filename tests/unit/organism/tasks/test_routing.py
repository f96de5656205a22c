"""TaskRouting through its seams: the real registry class in process, scripted organs, no Ray."""

import asyncio

import pytest

from contracts.audit import AuditStamp
from contracts.organ import Organ
from contracts.refusals import OrganUnavailable, Refusal, RegistryUnavailable, StaleReplica
from contracts.registry import InstanceStatus
from contracts.routing_table import GRAPH_DISPATCHER, UTILITY_ORGAN, Rule
from contracts.wire import RouteStatus
from organism.tasks.resolution import RouteQuery
from organism.tasks.routing import TaskRouting
from servekit.actors import InProcess
from tests.fakes import RecordingMetrics, ScriptedOrgan, registry

pytestmark = pytest.mark.usefixtures("registry_without_grace")
OPS = AuditStamp("ops", "admin", "corr-1")
ORGANS = [GRAPH_DISPATCHER, UTILITY_ORGAN]


class Stack:
    """A replica's TaskRouting over one in-process registry, with an organ instance per logical id."""

    def __init__(self) -> None:
        self.registry = registry(ORGANS)
        self.organs = {f"organ:{lid}:0": InProcess(ScriptedOrgan(f"organ:{lid}:0"), Organ, OrganUnavailable)
                       for lid in ORGANS}
        self.metrics = RecordingMetrics()
        self.routing = TaskRouting(self.registry, self.organs.__getitem__, set(ORGANS), self.metrics, 60.0)

    async def start(self, alive: list[str] = ORGANS) -> "Stack":
        for logical_id in alive:
            self.registry.instance.register(f"{logical_id}-1", logical_id, f"organ:{logical_id}:0", None,
                                            InstanceStatus.ALIVE.value)
        await self.routing.start()
        return self

    def stop(self) -> None:
        self.routing.stop()


@pytest.fixture
async def stack():
    started = await Stack().start()
    yield started
    started.stop()


async def test_a_resolve_names_the_active_instance_and_is_then_a_cache_hit(stack):
    epoch, first = await stack.routing.resolve(RouteQuery(("graph_embed", None)))
    _, second = await stack.routing.resolve(RouteQuery(("graph_embed", None)))
    assert (first.logical_id, first.status, first.instance_id, first.cache_hit) == (
        GRAPH_DISPATCHER, RouteStatus.OK, f"{GRAPH_DISPATCHER}-1", False)
    assert second.cache_hit and epoch == "epoch-000001"
    assert stack.metrics.resolve_route.total() == 2 and stack.metrics.cache_hits.total() == 1


async def test_a_bulk_resolve_asks_the_registry_once_and_unknown_ids_never(stack):
    """A flood of distinct preferred ids: one registry call per request, and nothing of it is cached."""
    flood = [RouteQuery((f"graph_{n % 7}", None), f"nobody-{request}-{n}") for request in range(10) for n in range(1000)]
    before = stack.registry.calls_of["active_instances"]
    _, first = await stack.routing.resolve_many(flood[:1000] + [RouteQuery(("fact_search", None), UTILITY_ORGAN)])
    assert stack.registry.calls_of["active_instances"] - before == 1
    for request in range(1, 10):
        _, answers = await stack.routing.resolve_many(flood[request * 1000:(request + 1) * 1000])
        assert {(a.logical_id, a.status, a.cache_hit) for a in answers} == {(GRAPH_DISPATCHER, RouteStatus.OK, True)}
    assert stack.registry.calls_of["active_instances"] - before == 1  # the organs' entries were all held
    assert stack.registry.calls_of["active_instance"] == 0
    assert (first[-1].logical_id, first[-1].resolved_from.value) == (UTILITY_ORGAN, "preferred")
    cleared, _ = await stack.routing.refresh(OPS)
    assert cleared == len(ORGANS)  # the organs' entries only, none for the unknown ids


async def test_a_rule_change_is_in_force_on_this_replica_when_it_answers(stack):
    table, change = await stack.routing.change_rules([Rule("ledger_sync", None, UTILITY_ORGAN)], [], OPS)
    assert table is stack.routing.table
    assert (change.version, change.late, stack.routing.control.applied) == (1, (), 1)
    _, resolution = await stack.routing.resolve(RouteQuery(("ledger_sync", None)))
    assert (resolution.logical_id, resolution.resolved_from.value) == (UTILITY_ORGAN, "task")


async def test_a_refused_rule_change_is_a_value_and_changes_nothing(stack):
    before = stack.routing.table.rules()
    refused = await stack.routing.change_rules([Rule("x", None, "no_such_organ")], [("nothing", None)], OPS)
    assert isinstance(refused, Refusal) and [d["field"] for d in refused.details] == ["remove.0", "add.0.logical_id"]
    assert stack.routing.table.rules() == before


async def test_a_rotation_is_in_force_at_once_and_old_instances_stop_answering(stack):
    rotation, _ = await stack.routing.rotate_epoch(OPS)
    assert stack.routing.epoch == rotation.view.epoch == "epoch-000002"
    _, resolution = await stack.routing.resolve(RouteQuery(("graph_embed", None)))
    assert resolution.status is RouteStatus.NO_ACTIVE_INSTANCE  # registered in the previous epoch


async def test_execute_runs_on_the_active_instance_and_refuses_by_value(stack):
    instance_id, epoch, result = await stack.routing.execute(GRAPH_DISPATCHER, {"type": "graph_embed"})
    assert (instance_id, result["executed_by"]) == (f"{GRAPH_DISPATCHER}-1", f"organ:{GRAPH_DISPATCHER}:0")
    unknown = await stack.routing.execute("nobody", {"type": "x"})
    assert unknown.kind.value == "ValidationError" and unknown.details[0]["field"] == "logical_id"


async def test_no_active_instance_is_a_refusal():
    stack = await Stack().start(alive=[UTILITY_ORGAN])
    try:
        refused = await stack.routing.execute(GRAPH_DISPATCHER, {"type": "graph_embed"})
        assert refused.kind.value == "NoActiveInstance" and GRAPH_DISPATCHER in refused.message
    finally:
        stack.stop()


async def test_an_organ_that_is_gone_is_a_fault(stack):
    stack.organs[f"organ:{GRAPH_DISPATCHER}:0"].reachable = False
    with pytest.raises(OrganUnavailable):
        await stack.routing.execute(GRAPH_DISPATCHER, {"type": "graph_embed"})


async def test_a_registry_that_is_gone_faults_admin_calls_and_fails_only_uncached_resolves(stack):
    await stack.routing.resolve(RouteQuery(("graph_embed", None)))  # cached
    stack.registry.reachable = False
    with pytest.raises(RegistryUnavailable):
        await stack.routing.rotate_epoch(OPS)
    _, cached = await stack.routing.resolve(RouteQuery(("graph_embed", None)))
    _, uncached = await stack.routing.resolve(RouteQuery(("fact_search", None)))
    assert (cached.status, uncached.status) == (RouteStatus.OK, RouteStatus.ERROR)


async def test_a_change_made_through_another_replica_reaches_this_one_by_the_feed():
    this = await Stack().start()
    other = TaskRouting(this.registry, this.organs.__getitem__, set(ORGANS), RecordingMetrics(), 60.0)
    await other.start()
    try:
        await other.change_rules([Rule("ledger_sync", None, UTILITY_ORGAN)], [], OPS)  # acknowledged by both
        for _ in range(50):
            if any(r.task_type == "ledger_sync" for r in this.routing.table.rules()):
                break
            await asyncio.sleep(0.01)
        assert any(r.task_type == "ledger_sync" for r in this.routing.table.rules())
    finally:
        this.stop()
        other.stop()


async def test_past_its_lease_a_replica_answers_from_a_fresh_view_or_refuses_as_stale(stack, monkeypatch):
    stack.routing.stop()  # its feed stops: the lease lapses
    monkeypatch.setattr(stack.routing.control.follower, "_fresh_until", 0.0)
    await stack.registry.instance.change_rules([Rule("ledger_sync", None, UTILITY_ORGAN)], [], OPS)  # elsewhere
    _, fresh = await stack.routing.resolve(RouteQuery(("ledger_sync", None)))
    assert fresh.logical_id == UTILITY_ORGAN  # it looked before answering
    monkeypatch.setattr(stack.routing.control.follower, "_fresh_until", 0.0)
    stack.registry.reachable = False
    with pytest.raises(StaleReplica):
        await stack.routing.resolve(RouteQuery(("ledger_sync", None)))
