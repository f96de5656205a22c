import asyncio
import random

import pytest

from coordinator.router import Router, RouteSource
from coordinator.settings import CoordinatorSettings
from servekit.clock import FakeClock
from tests.fakes import ScriptedOrganism, organ_for


def make_router(organism: ScriptedOrganism, clock: FakeClock | None = None, **overrides) -> Router:
    options = {
        "routing_remote": True,
        "routing_remote_types": ["graph_embed", "graph_rag_query", "fact_search", "mystery"],
        "route_single_timeout_s": 0.02,
        "route_bulk_timeout_s": 0.02,
        **overrides,
    }
    settings = CoordinatorSettings(**options)
    return Router(settings, organism, clock or FakeClock(), random.Random(1))


async def test_type_outside_remote_types_is_static_without_a_call():
    organism = ScriptedOrganism()
    route = await make_router(organism).route("execute", None)
    assert (route.route_source, route.logical_id, route.status) == (RouteSource.STATIC, "actuator_organ_1", "remote_disabled")
    assert organism.single_calls == []


async def test_flag_off_is_static_for_single_and_bulk():
    organism = ScriptedOrganism()
    router = Router(CoordinatorSettings(routing_remote=False), organism, FakeClock())
    assert (await router.route("graph_embed", None)).route_source is RouteSource.STATIC
    assert all(r.route_source is RouteSource.STATIC for r in await router.route_many([("graph_embed", None)]))
    assert organism.single_calls == [] and organism.bulk_calls == []


async def test_remote_answer_is_cached_until_ttl():
    clock = FakeClock()
    organism = ScriptedOrganism()
    router = make_router(organism, clock)
    first = await router.route("graph_embed", "facts")
    second = await router.route(" GRAPH_EMBED", "Facts ")
    assert (first.route_source, second.route_source) == (RouteSource.REMOTE, RouteSource.CACHE)
    assert second.logical_id == organ_for("graph_embed") and second.epoch == "e1"
    clock.advance(3.6)
    assert (await router.route("graph_embed", "facts")).route_source is RouteSource.REMOTE
    assert len(organism.single_calls) == 2


async def test_fifty_concurrent_misses_make_one_remote_call():
    organism = ScriptedOrganism()
    organism.release.clear()
    router = make_router(organism, route_single_timeout_s=5)
    callers = [asyncio.create_task(router.route("graph_embed", None)) for _ in range(50)]
    await asyncio.sleep(0)
    organism.release.set()
    routes = await asyncio.gather(*callers)
    assert organism.single_calls == ["graph_embed"]
    assert {(r.logical_id, r.route_source) for r in routes} == {(organ_for("graph_embed"), RouteSource.REMOTE)}


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
        RouteSource.STATIC,
        "graph_dispatcher",
        "task",
        reason,
    )
    await router.route("graph_embed", None)
    assert len(organism.single_calls) == 2


async def test_breaker_opens_after_five_failures_and_skips_the_remote():
    clock = FakeClock()
    organism = ScriptedOrganism()
    organism.fail = True
    router = make_router(organism, clock)
    for _ in range(5):
        assert (await router.route("graph_embed", None)).status == "remote_error"
    route = await router.route("graph_embed", None)
    assert (route.route_source, route.status) == (RouteSource.STATIC, "circuit_open")
    assert len(organism.single_calls) == 5
    clock.advance(30)
    organism.fail = False
    assert (await router.route("graph_embed", None)).route_source is RouteSource.REMOTE
    assert router.stats().breaker == "closed"


async def test_timeouts_count_as_breaker_failures():
    organism = ScriptedOrganism()
    organism.hang = True
    router = make_router(organism, breaker_failure_threshold=2)
    await router.route("graph_embed", None)
    await router.route("fact_search", None)
    assert (await router.route("graph_rag_query", None)).status == "circuit_open"


async def test_epoch_rotation_clears_cache_and_keeps_the_new_answer():
    organism = ScriptedOrganism()
    router = make_router(organism)
    await router.route("graph_embed", None)
    await router.route("fact_search", None)
    organism.epoch = "e2"
    rotated = await router.route("graph_rag_query", None)
    assert rotated.epoch == "e2"
    assert (await router.route("graph_rag_query", None)).route_source is RouteSource.CACHE
    assert (await router.route("graph_embed", None)).route_source is RouteSource.REMOTE
    assert router.stats().newest_epoch == "e2"


async def test_preferred_hint_goes_remote_and_is_not_cached():
    organism = ScriptedOrganism()
    router = make_router(organism)
    await router.route("graph_embed", None, preferred_logical_id="x")
    await router.route("graph_embed", None, preferred_logical_id="x")
    assert len(organism.single_calls) == 2
    assert (await router.route("graph_embed", None)).route_source is RouteSource.REMOTE


async def test_bulk_sends_each_missing_key_once_and_fans_out():
    organism = ScriptedOrganism()
    router = make_router(organism)
    await router.route("fact_search", None)  # cached beforehand
    steps = [("graph_embed", "facts"), ("fact_search", None), ("GRAPH_EMBED", "FACTS"), ("execute", None), ("mystery", None)]
    routes = await router.route_many(steps)
    assert organism.bulk_calls == [["graph_embed", "mystery"]]
    assert [r.route_source for r in routes] == [
        RouteSource.REMOTE,
        RouteSource.CACHE,
        RouteSource.REMOTE,
        RouteSource.STATIC,
        RouteSource.REMOTE,
    ]
    assert routes[0] == routes[2]


async def test_partial_bulk_failure_falls_back_per_item():
    organism = ScriptedOrganism()
    organism.status["fact_search"] = "no_active_instance"
    router = make_router(organism)
    routes = await router.route_many([("graph_embed", None), ("fact_search", None)])
    assert routes[0].route_source is RouteSource.REMOTE
    assert (routes[1].route_source, routes[1].logical_id, routes[1].status) == (
        RouteSource.STATIC,
        "utility_organ_1",
        "no_active_instance",
    )


async def test_bulk_timeout_routes_every_item_statically():
    organism = ScriptedOrganism()
    organism.hang = True
    routes = await make_router(organism).route_many([("graph_embed", None), ("fact_search", None)])
    assert [(r.route_source, r.status) for r in routes] == [(RouteSource.STATIC, "timeout")] * 2


class RecordingObserver:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def cache_hit(self) -> None:
        self.events.append(("hit",))

    def remote_call(self, kind: str, latency_ms: float, failure: str | None) -> None:
        self.events.append(("remote", kind, failure))

    def bulk_items(self, items: int, failed: int) -> None:
        self.events.append(("bulk", items, failed))

    def static_route(self, reason: str) -> None:
        self.events.append(("static", reason))

    def breaker_state(self, state) -> None:
        self.events.append(("breaker", state.value))


async def test_router_reports_hits_remote_calls_bulk_items_statics_and_breaker():
    organism = ScriptedOrganism()
    observer = RecordingObserver()
    settings = CoordinatorSettings(routing_remote=True, routing_remote_types=["graph_embed", "fact_search"], breaker_failure_threshold=1)
    router = Router(settings, organism, FakeClock(), random.Random(1), observer)
    await router.route("graph_embed", None)
    await router.route("graph_embed", None)
    organism.status["fact_search"] = "no_active_instance"
    await router.route_many([("fact_search", None), ("graph_rag_query", None)])
    organism.fail = True
    await router.route("fact_search", "x")
    assert observer.events == [
        ("remote", "single", None),
        ("breaker", "closed"),
        ("hit",),
        ("static", "remote_disabled"),
        ("remote", "bulk", None),
        ("breaker", "closed"),
        ("static", "no_active_instance"),
        ("bulk", 1, 1),
        ("remote", "single", "remote_error"),
        ("breaker", "open"),
        ("static", "remote_error"),
    ]


async def test_concurrent_bulk_routes_share_keys_with_each_other_and_with_singles():
    organism = ScriptedOrganism()
    organism.release.clear()
    router = make_router(organism, route_single_timeout_s=5, route_bulk_timeout_s=5)
    single = asyncio.create_task(router.route("graph_embed", None))
    await asyncio.sleep(0)
    bulks = [
        asyncio.create_task(router.route_many([("graph_embed", None), ("fact_search", None), ("graph_rag_query", None)]))
        for _ in range(5)
    ]
    for _ in range(5):
        await asyncio.sleep(0)
    organism.release.set()
    answers = await asyncio.gather(*bulks)
    await single
    assert organism.single_calls == ["graph_embed"]
    assert organism.bulk_calls == [["fact_search", "graph_rag_query"]]  # one bulk for all five requests
    expected = [organ_for(t) for t in ("graph_embed", "fact_search", "graph_rag_query")]
    assert all([r.logical_id for r in a] == expected for a in answers)
