"""The router: flags, cache (fresh, stale, pushed changes), coalesced misses, fallbacks, observer."""

import asyncio
import random

import pytest

from contracts.registry_feed import Change
from coordinator.route_types import RouteSource
from coordinator.router import Router
from coordinator.settings import CoordinatorSettings
from servekit.clock import FakeClock
from tests.fakes import ScriptedOrganism, organ_for

REMOTE_TYPES = ["graph_embed", "graph_rag_query", "fact_search", "mystery"]


def make_router(organism: ScriptedOrganism, clock: FakeClock | None = None, observer=None, **overrides) -> Router:
    options = {
        "routing_remote": True,
        "routing_remote_types": REMOTE_TYPES,
        "route_single_timeout_s": 0.02,
        "route_bulk_timeout_s": 0.02,
        "route_budget_ceiling_s": 0.02,
        **overrides,
    }
    return Router(CoordinatorSettings(**options), organism, clock or FakeClock(), random.Random(1), observer)


def fetched(organism: ScriptedOrganism) -> list[str]:
    """Every key the organism was asked for, in order, single or bulk."""
    return [*organism.single_calls, *(t for batch in organism.bulk_calls for t in batch)]


async def test_type_outside_remote_types_is_static_without_a_call():
    organism = ScriptedOrganism()
    route = await make_router(organism).route("execute", None)
    assert (route.route_source, route.logical_id, route.status) == (RouteSource.STATIC, "actuator_organ_1", "remote_disabled")
    assert fetched(organism) == []


async def test_flags_apply_live():
    organism = ScriptedOrganism()
    router = make_router(organism)
    assert (await router.route("graph_embed", None)).route_source is RouteSource.REMOTE
    router.apply_flags(router.flags.changed_by({"routing_remote": False}))
    assert (await router.route("graph_embed", None)).status == "remote_disabled"
    assert all(r.route_source is RouteSource.STATIC for r in await router.route_many([("fact_search", None)]))
    router.apply_flags(router.flags.changed_by({"routing_remote": True, "routing_remote_types": "fact_search"}))
    assert (await router.route("fact_search", None)).route_source is RouteSource.REMOTE
    assert (await router.route("graph_embed", None)).status == "remote_disabled"


async def test_an_answer_is_fresh_for_its_ttl_then_stale_while_it_is_refreshed_then_gone():
    clock = FakeClock()
    organism = ScriptedOrganism()
    router = make_router(organism, clock, route_cache_stale_s=5.0)
    first = await router.route("graph_embed", "facts")
    second = await router.route("graph_embed", "facts")
    assert (first.route_source, second.route_source) == (RouteSource.REMOTE, RouteSource.CACHE)
    assert second.logical_id == organ_for("graph_embed") and second.epoch == "e1"
    clock.advance(3.6)  # past the ttl (3 s + at most 0.5 s): stale, answered, refreshed behind
    assert (await router.route("graph_embed", "facts")).route_source is RouteSource.CACHE
    await asyncio.sleep(0.01)
    assert fetched(organism) == ["graph_embed", "graph_embed"]
    clock.advance(3.6 + 5.1)  # past ttl and stale window of the refreshed entry: a miss
    assert (await router.route("graph_embed", "facts")).route_source is RouteSource.REMOTE


async def test_concurrent_misses_are_coalesced_into_one_bulk_call_each_key_once():
    organism = ScriptedOrganism()
    organism.release.clear()
    router = make_router(organism, route_budget_ceiling_s=5, route_single_timeout_s=5, route_bulk_timeout_s=5)
    keys = ["graph_embed", "fact_search", "graph_rag_query"] * 20
    callers = [asyncio.create_task(router.route(t, None)) for t in keys]
    await asyncio.sleep(0.01)
    organism.release.set()
    routes = await asyncio.gather(*callers)
    assert organism.single_calls == [] and organism.bulk_calls == [["graph_embed", "fact_search", "graph_rag_query"]]
    assert [r.logical_id for r in routes] == [organ_for(t) for t in keys]
    assert router.stats().batches == 1


@pytest.mark.parametrize(
    "setup, reason",
    [
        (lambda o: setattr(o, "hang", True), "timeout"),
        (lambda o: setattr(o, "fail", True), "remote_error"),
        (lambda o: o.status.update(graph_embed="no_active_instance"), "no_active_instance"),
        (lambda o: o.status.update(graph_embed="unknown_type"), "unknown_type"),
        (lambda o: o.status.update(graph_embed="error"), "error"),
    ],
)
async def test_failures_fall_back_to_static_and_are_not_cached(setup, reason):
    organism = ScriptedOrganism()
    setup(organism)
    router = make_router(organism)
    route = await router.route("graph_embed", None)
    assert (route.route_source, route.logical_id, route.resolved_from, route.status) == (
        RouteSource.STATIC, "graph_dispatcher", "task", reason,
    )
    await router.route("graph_embed", None)
    assert fetched(organism) == ["graph_embed", "graph_embed"]


async def test_errors_open_the_breaker_and_a_healthy_organism_gets_traffic_back_in_seconds():
    clock = FakeClock()
    organism = ScriptedOrganism()
    organism.fail = True
    router = make_router(organism, clock)
    for _ in range(5):
        assert (await router.route("graph_embed", None)).status == "remote_error"
    route = await router.route("graph_embed", None)
    assert (route.route_source, route.status) == (RouteSource.STATIC, "circuit_open")
    assert len(fetched(organism)) == 5 and not router.organism_reachable()
    clock.advance(5)
    organism.fail = False
    assert (await router.route("graph_embed", None)).route_source is RouteSource.REMOTE
    assert router.stats().breaker == "closed"


async def test_a_burst_of_timeouts_is_not_an_outage():
    organism = ScriptedOrganism()
    organism.hang = True
    router = make_router(organism)
    for task_type in REMOTE_TYPES + ["graph_embed"]:
        assert (await router.route(task_type, None)).status == "timeout"
    assert router.stats().breaker == "closed"  # five slow answers in a burst: the organism is busy, not down


async def test_the_feed_drops_exactly_what_a_change_makes_stale():
    organism = ScriptedOrganism()
    router = make_router(organism)
    await router.route_many([("graph_embed", None), ("fact_search", None)])
    router.on_registry_change(Change(logical_ids=frozenset({organ_for("graph_embed")})), "e1")
    assert (await router.route("fact_search", None)).route_source is RouteSource.CACHE
    assert (await router.route("graph_embed", None)).route_source is RouteSource.REMOTE
    router.on_registry_change(Change(rules=True), "e1")
    assert (await router.route("fact_search", None)).route_source is RouteSource.REMOTE


async def test_an_epoch_sequence_that_restarts_lower_is_accepted_from_the_feed():
    organism = ScriptedOrganism()
    organism.epoch = "epoch-000009"
    router = make_router(organism)
    await router.route("graph_embed", None)
    organism.epoch = "epoch-000001"  # the registry's state was lost and rebuilt
    router.on_registry_change(Change(epoch=True, refreshed=True), "epoch-000001")
    await router.route("graph_embed", None)
    assert (await router.route("graph_embed", None)).route_source is RouteSource.CACHE
    assert router.stats().epoch == "epoch-000001"


async def test_an_answer_in_flight_across_a_pushed_change_is_not_kept():
    organism = ScriptedOrganism()
    organism.release.clear()
    router = make_router(organism, route_budget_ceiling_s=5, route_bulk_timeout_s=5)
    pending = asyncio.create_task(router.route("graph_embed", None))
    await asyncio.sleep(0.01)
    router.on_registry_change(Change(logical_ids=frozenset({organ_for("graph_embed")})), "e1")
    organism.release.set()
    assert (await pending).route_source is RouteSource.REMOTE
    assert (await router.route("graph_embed", None)).route_source is RouteSource.REMOTE  # not cached


async def test_epoch_rotation_in_an_answer_clears_the_cache_and_keeps_the_new_answer():
    organism = ScriptedOrganism()
    router = make_router(organism)
    await router.route("graph_embed", None)
    await router.route("fact_search", None)
    organism.epoch = "e2"
    rotated = await router.route("graph_rag_query", None)
    assert rotated.epoch == "e2"
    assert (await router.route("graph_rag_query", None)).route_source is RouteSource.CACHE
    assert (await router.route("graph_embed", None)).route_source is RouteSource.REMOTE
    assert router.stats().epoch == "e2"


async def test_preferred_hint_goes_remote_alone_and_is_not_cached():
    organism = ScriptedOrganism()
    router = make_router(organism)
    await router.route("graph_embed", None, preferred_logical_id="x")
    await router.route("graph_embed", None, preferred_logical_id="x")
    assert organism.single_calls == ["graph_embed", "graph_embed"]
    assert (await router.route("graph_embed", None)).route_source is RouteSource.REMOTE


async def test_bulk_sends_each_missing_key_once_and_fans_out():
    organism = ScriptedOrganism()
    router = make_router(organism)
    await router.route("fact_search", None)  # cached beforehand
    steps = [("graph_embed", "facts"), ("fact_search", None), ("graph_embed", "facts"), ("execute", None), ("mystery", None)]
    routes = await router.route_many(steps)
    assert organism.bulk_calls[-1] == ["graph_embed", "mystery"]
    assert [r.route_source for r in routes] == [
        RouteSource.REMOTE, RouteSource.CACHE, RouteSource.REMOTE, RouteSource.STATIC, RouteSource.REMOTE,
    ]
    assert routes[0] == routes[2]


async def test_partial_bulk_failure_falls_back_per_item():
    organism = ScriptedOrganism()
    organism.status["fact_search"] = "no_active_instance"
    routes = await make_router(organism).route_many([("graph_embed", None), ("fact_search", None)])
    assert routes[0].route_source is RouteSource.REMOTE
    assert (routes[1].route_source, routes[1].logical_id, routes[1].status) == (
        RouteSource.STATIC, "utility_organ_1", "no_active_instance",
    )


async def test_bulk_timeout_routes_every_item_statically():
    organism = ScriptedOrganism()
    organism.hang = True
    routes = await make_router(organism).route_many([("graph_embed", None), ("fact_search", None)])
    assert [(r.route_source, r.status) for r in routes] == [(RouteSource.STATIC, "timeout")] * 2


class RecordingObserver:
    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.latencies: list[tuple[str, float]] = []

    def cache_hit(self) -> None:
        self.events.append(("hit",))

    def remote_call(self, kind: str, failure: str | None) -> None:
        self.events.append(("remote", kind, failure))

    def remote_latency(self, kind: str, latency_ms: float) -> None:
        self.latencies.append((kind, latency_ms))

    def bulk_items(self, items: int, failed: int) -> None:
        self.events.append(("bulk", items, failed))

    def static_route(self, reason: str) -> None:
        self.events.append(("static", reason))

    def breaker_state(self, state) -> None:
        self.events.append(("breaker", state.value))


async def test_router_reports_hits_remote_calls_bulk_items_statics_and_breaker():
    organism = ScriptedOrganism()
    observer = RecordingObserver()
    router = make_router(organism, observer=observer, routing_remote_types=["graph_embed", "fact_search"],
                         breaker_error_threshold=1)
    await router.route("graph_embed", None)
    await router.route("graph_embed", None)
    organism.status["fact_search"] = "no_active_instance"
    await router.route_many([("fact_search", None), ("graph_rag_query", None)])
    organism.fail = True
    await router.route("fact_search", "x")
    assert observer.events == [
        ("remote", "bulk", None), ("breaker", "closed"), ("bulk", 1, 0),
        ("hit",),
        ("static", "remote_disabled"),
        ("remote", "bulk", None), ("breaker", "closed"), ("static", "no_active_instance"), ("bulk", 1, 1),
        ("remote", "bulk", "remote_error"), ("breaker", "open"), ("bulk", 1, 1), ("static", "remote_error"),
    ]


async def test_concurrent_bulk_routes_share_keys_with_each_other_and_with_singles():
    organism = ScriptedOrganism()
    organism.release.clear()
    router = make_router(organism, route_single_timeout_s=5, route_bulk_timeout_s=5, route_budget_ceiling_s=5)
    single = asyncio.create_task(router.route("graph_embed", None))
    await asyncio.sleep(0.01)  # its coalescing window closes: one batch of one key
    bulks = [
        asyncio.create_task(router.route_many([("graph_embed", None), ("fact_search", None), ("graph_rag_query", None)]))
        for _ in range(5)
    ]
    for _ in range(5):
        await asyncio.sleep(0)
    organism.release.set()
    answers = await asyncio.gather(*bulks)
    await single
    assert organism.bulk_calls == [["graph_embed"], ["fact_search", "graph_rag_query"]]  # one bulk for all five
    expected = [organ_for(t) for t in ("graph_embed", "fact_search", "graph_rag_query")]
    assert all([r.logical_id for r in a] == expected for a in answers)


async def test_a_timed_out_attempt_is_measured_when_it_really_ends_not_at_the_budget():
    organism, clock, observer = ScriptedOrganism(), FakeClock(), RecordingObserver()
    organism.release.clear()  # the organism answers only when released
    router = make_router(organism, clock=clock, observer=observer)
    assert (await router.route("graph_embed", None)).status == "timeout"
    assert observer.latencies == []  # not the budget: the attempt is still running
    clock.advance(0.25)
    organism.release.set()
    await asyncio.sleep(0.05)
    assert observer.latencies == [("bulk", 250.0)]


async def test_an_attempt_that_never_ends_is_cancelled_and_measured_at_the_watch_limit(monkeypatch):
    from coordinator import remote

    monkeypatch.setattr(remote, "LATENCY_WATCH_S", 0.05)
    organism, clock, observer = ScriptedOrganism(), FakeClock(), RecordingObserver()
    organism.hang = True
    router = make_router(organism, clock=clock, observer=observer)
    assert (await router.route("graph_embed", None)).status == "timeout"
    clock.advance(10)
    await asyncio.sleep(0.1)
    assert observer.latencies == [("bulk", 10_000.0)]
