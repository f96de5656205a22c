import pytest

from contracts.routing_table import ResolvedFrom, RuleTable
from contracts.wire import RouteStatus
from organism.tasks.instance_cache import ActiveInstanceCache
from organism.tasks.resolution import InstanceLookups, RouteQuery, resolve, resolve_many
from servekit.clock import FakeClock
from tests.fakes import ScriptedDirectory


def lookups_over(directory: ScriptedDirectory) -> InstanceLookups:
    cache = ActiveInstanceCache(directory.active_instances, clock=FakeClock())
    return lambda logical_ids: cache.get_many(logical_ids, "e1")


ALL_ALIVE = {"graph_dispatcher": "g-1", "utility_organ_1": "u-1", "actuator_organ_1": "a-1"}
CONFIGURED = set(ALL_ALIVE)


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
    result = await resolve(q, RuleTable(), lookups_over(ScriptedDirectory(alive)), CONFIGURED)
    assert (result.logical_id, result.resolved_from, result.status, result.instance_id) == expected


async def test_domain_rule_resolves_from_domain():
    from contracts.routing_table import Rule

    table = RuleTable(rules=[Rule("graph_embed", "facts", "utility_organ_1")])
    result = await resolve(query("graph_embed", "facts"), table, lookups_over(ScriptedDirectory(ALL_ALIVE)), CONFIGURED)
    assert (result.logical_id, result.resolved_from) == ("utility_organ_1", ResolvedFrom.DOMAIN)


async def test_lookup_failure_is_an_item_error():
    directory = ScriptedDirectory({})
    directory.failure = ConnectionError("registry unreachable")
    result = await resolve(query("graph_embed"), RuleTable(), lookups_over(directory), CONFIGURED)
    assert result.status is RouteStatus.ERROR
    assert "registry unreachable" in result.error


async def test_blank_type_is_an_item_error():
    directory = ScriptedDirectory(ALL_ALIVE)
    result = await resolve(query(""), RuleTable(), lookups_over(directory), CONFIGURED)  # a bulk item's blank type
    assert result.status is RouteStatus.ERROR and "type" in result.error
    assert directory.calls == []


async def test_bulk_keeps_order_resolves_duplicates_once_and_isolates_failures():
    directory = ScriptedDirectory(ALL_ALIVE)
    lookups = lookups_over(directory)
    await resolve(query("graph_embed"), RuleTable(), lookups, CONFIGURED)  # graph_dispatcher is held
    directory.failure = ConnectionError("registry unreachable")  # every other id fails
    queries = [
        query("graph_embed", "facts"),
        query("graph_embed", "facts"),
        query("execute"),
        query(""),
        query("fact_search"),
        query("graph_embed", "facts"),
    ]
    results = await resolve_many(queries, RuleTable(), lookups, CONFIGURED)
    assert [r.status for r in results] == [
        RouteStatus.OK,
        RouteStatus.OK,
        RouteStatus.ERROR,
        RouteStatus.ERROR,
        RouteStatus.ERROR,
        RouteStatus.OK,
    ]
    assert results[0] == results[1] == results[5]
    assert "registry unreachable" in results[2].error and "registry unreachable" in results[4].error


def preferring(ids: list[str], task_type: str = "graph_embed") -> list[RouteQuery]:
    return [query(task_type, preferred=logical_id) for logical_id in ids]


@pytest.mark.parametrize(
    "queries, looked_up",
    [
        # 1,000 distinct preferred ids that name no organ: only the rules' target is looked up
        (preferring([f"nobody-{n}" for n in range(1000)]), [["graph_dispatcher"]]),
        # every configured organ preferred, among 1,000 unknown ones: still one call
        (preferring([f"nobody-{n}" for n in range(997)] + sorted(CONFIGURED)), [sorted(CONFIGURED)]),
        # 1,000 distinct types, every one a rule or a category default
        ([query(f"graph_{n}") for n in range(500)] + [query(f"fact_{n}") for n in range(500)],
         [["graph_dispatcher", "utility_organ_1"]]),
        ([query("")] * 3, []),  # nothing to look up: no call
    ],
)
async def test_a_bulk_request_makes_at_most_one_lookup_of_configured_ids(queries, looked_up):
    directory = ScriptedDirectory(ALL_ALIVE)
    results = await resolve_many(queries, RuleTable(), lookups_over(directory), CONFIGURED)
    assert directory.calls == looked_up
    assert len(results) == len(queries)


@pytest.mark.parametrize(
    "q, configured, expected",
    [
        # a preferred id no organ is configured for falls through to the rules, unasked
        (query("graph_embed", preferred="nobody"), CONFIGURED, ("graph_dispatcher", "task", "ok")),
        # a rule's target that no organ is configured for has no instance, unasked
        (query("fact_search"), {"graph_dispatcher"}, ("utility_organ_1", "default", "no_active_instance")),
        (query("fact_search", preferred="graph_dispatcher"), {"graph_dispatcher"},
         ("graph_dispatcher", "preferred", "ok")),
    ],
)
async def test_ids_no_organ_is_configured_for_are_answered_absent_without_a_lookup(q, configured, expected):
    directory = ScriptedDirectory({"nobody": "n-1", **ALL_ALIVE})  # the registry would even name one
    result = await resolve(q, RuleTable(), lookups_over(directory), configured)
    assert (result.logical_id, result.resolved_from, result.status) == expected
    assert {i for call in directory.calls for i in call} <= set(configured)
