import asyncio

import pytest

from contracts.registry import ActiveInstance
from contracts.routing_table import ResolvedFrom, RuleTable
from contracts.wire import RouteStatus
from organism.tasks.instance_cache import CachedLookup
from organism.tasks.resolution import RouteQuery, resolve, resolve_many


class FakeLookup:
    def __init__(self, alive: dict[str, str], failing: set[str] = frozenset()) -> None:
        self.alive = alive
        self.failing = failing
        self.calls: list[str] = []

    async def __call__(self, logical_id: str) -> CachedLookup:
        self.calls.append(logical_id)
        if logical_id in self.failing:
            raise ConnectionError(f"registry unreachable for {logical_id}")
        instance_id = self.alive.get(logical_id)
        return CachedLookup(ActiveInstance(instance_id, "actor") if instance_id else None, False, 0.0)


ALL_ALIVE = {"graph_dispatcher": "g-1", "utility_organ_1": "u-1", "actuator_organ_1": "a-1"}


def query(task_type, domain=None, preferred=None) -> RouteQuery:
    return RouteQuery((task_type, domain), preferred)


@pytest.mark.parametrize(
    "q, alive, expected",
    [
        (query("graph_embed", "facts"), ALL_ALIVE, ("graph_dispatcher", "task", "ok", "g-1")),
        (query("fact_search"), ALL_ALIVE, ("utility_organ_1", "default", "ok", "u-1")),
        (query("mystery"), ALL_ALIVE, ("utility_organ_1", "fallback", "unknown_type", "u-1")),
        (query("mystery"), {}, ("utility_organ_1", "fallback", "unknown_type", None)),
        (query("graph_embed"), {"utility_organ_1": "u"}, ("graph_dispatcher", "task", "no_active_instance", None)),
        (query("fact_x"), {}, ("utility_organ_1", "default", "no_active_instance", None)),
        (query("graph_embed", preferred="actuator_organ_1"), ALL_ALIVE, ("actuator_organ_1", "preferred", "ok", "a-1")),
        # preferred without an active instance falls through to the rules
        (query("graph_embed", preferred="actuator_organ_1"), {"graph_dispatcher": "g"}, ("graph_dispatcher", "task", "ok", "g")),
        (query("graph_embed", preferred="nobody"), ALL_ALIVE, ("graph_dispatcher", "task", "ok", "g-1")),
    ],
)
async def test_precedence_and_status(q, alive, expected):
    result = await resolve(q, RuleTable(), FakeLookup(alive))
    assert (result.logical_id, result.resolved_from, result.status, result.instance_id) == expected


async def test_domain_rule_resolves_from_domain():
    from contracts.routing_table import Rule

    table = RuleTable(rules=[Rule("graph_embed", "facts", "utility_organ_1")])
    result = await resolve(query("graph_embed", "facts"), table, FakeLookup(ALL_ALIVE))
    assert (result.logical_id, result.resolved_from) == ("utility_organ_1", ResolvedFrom.DOMAIN)


async def test_lookup_failure_is_an_item_error():
    result = await resolve(query("graph_embed"), RuleTable(), FakeLookup({}, failing={"graph_dispatcher"}))
    assert result.status is RouteStatus.ERROR
    assert "registry unreachable" in result.error


async def test_blank_type_is_an_item_error():
    result = await resolve(query(""), RuleTable(), FakeLookup(ALL_ALIVE))  # a bulk item's blank type
    assert result.status is RouteStatus.ERROR and "type" in result.error


async def test_bulk_keeps_order_resolves_duplicates_once_and_isolates_failures():
    lookup = FakeLookup(ALL_ALIVE, failing={"actuator_organ_1"})
    queries = [
        query("graph_embed", "facts"),
        query("graph_embed", "facts"),
        query("execute"),
        query(""),
        query("fact_search"),
        query("graph_embed", "facts"),
    ]
    results = await resolve_many(queries, RuleTable(), lookup)
    assert [r.status for r in results] == [
        RouteStatus.OK,
        RouteStatus.OK,
        RouteStatus.ERROR,
        RouteStatus.ERROR,
        RouteStatus.OK,
        RouteStatus.OK,
    ]
    assert results[0] == results[1] == results[5]
    assert lookup.calls.count("graph_dispatcher") == 1
    assert results[4].logical_id == "utility_organ_1"


async def test_bulk_resolves_distinct_items_concurrently():
    started = []
    release = asyncio.Event()

    async def slow_lookup(logical_id: str) -> CachedLookup:
        started.append(logical_id)
        await release.wait()
        return CachedLookup(ActiveInstance("i", "actor"), False, 0.0)

    task = asyncio.create_task(
        resolve_many([query("graph_embed"), query("fact_search")], RuleTable(), slow_lookup)
    )
    for _ in range(5):  # let gather start both lookups
        await asyncio.sleep(0)
    assert sorted(started) == ["graph_dispatcher", "utility_organ_1"]
    release.set()
    assert len(await task) == 2
