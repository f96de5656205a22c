"""Route task steps: flags, cache, coalesced remote resolution, static fallback. Pure.

For each step: when remote routing is off for its type (the live flags), the
static table answers. Otherwise a fresh cached answer is used; a stale one
(lapsed, but within `route_cache_stale_s`, and never across a pushed change)
answers too while it is refreshed in the background. A miss joins the one
fetch of its key already in flight (single-flight); concurrent misses of
different keys within `miss_window_s` go to the organism as one bulk call
(coalescing). A remote call runs under the breaker and the latency budget
(`remote`); a timeout, an error, an open breaker or an answer whose status is
not `ok` gives the static route, with `status` saying why, and a failed bulk
item falls back alone.

The registry's feed (`on_registry_change`) drops exactly the entries a change
makes stale, and while the lease on the feed's view has lapsed (`trusted`
is false) the cache neither answers nor keeps anything, and sets the cache's epoch even when a rebuilt registry's epoch
is lower than before. What happens is reported to a `RouteObserver`.
"""

import asyncio
import random
import time
from collections.abc import Callable, Sequence

from contracts.registry_feed import Change
from contracts.routing_table import DEFAULT_RULES, RouteKey, Rule, RuleTable
from contracts.wire import BulkRouteItem, ResolveRouteRequest, ResolveRoutesRequest, RouteResult, RouteStatus, TaskSpec
from coordinator.breaker import BreakerState
from coordinator.remote import RemoteResolver
from coordinator.route_cache import RouteCache
from coordinator.route_types import (
    FallbackReason,
    NullObserver,
    OrganismResolver,
    RouteObserver,
    RouterStats,
    RouteSource,
    StepRoute,
)
from coordinator.settings import CoordinatorSettings, RoutingFlags
from servekit.clock import Clock
from servekit.coalescer import Coalescer
from servekit.singleflight import SingleFlight


def static_table(settings: CoordinatorSettings) -> RuleTable:
    configured = (Rule(r.task_type, r.domain, r.logical_id) for r in settings.static_rules)
    return RuleTable([*DEFAULT_RULES, *configured])


class Router:
    def __init__(
        self,
        settings: CoordinatorSettings,
        resolver: OrganismResolver,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
        observer: RouteObserver | None = None,
        trusted: Callable[[], bool] = lambda: True,
    ) -> None:
        self._observer = observer or NullObserver()
        self._trusted = trusted
        self._static = static_table(settings)
        self._remote = RemoteResolver(settings, resolver, self._observer, clock)
        self._cache = RouteCache(
            settings.route_cache_ttl_s, settings.route_cache_jitter_s, settings.route_cache_max_entries, clock, rng,
            settings.route_cache_stale_s,
        )
        self._flags = settings.flags()
        self._flight: SingleFlight[RouteKey, StepRoute] = SingleFlight()
        self._misses: Coalescer[RouteKey, StepRoute] = Coalescer(self._remote_many, settings.miss_window_s,
                                                                 settings.miss_max_batch)
        self._refreshes: set[asyncio.Task] = set()

    @property
    def flags(self) -> RoutingFlags:
        return self._flags

    def apply_flags(self, flags: RoutingFlags) -> None:
        """Live: the next step routes by these flags; cached entries keep their lifetime."""
        self._flags = flags
        self._cache.set_lifetime(flags.route_cache_ttl_s, flags.route_cache_jitter_s)

    def on_registry_change(self, change: Change, epoch: str) -> None:
        if change.epoch or change.rules or change.refreshed:
            self._cache.reset(epoch)
        elif change.logical_ids:
            self._cache.forget(change.logical_ids)

    def organism_reachable(self) -> bool:
        """False while the breaker is open: the organism is known to be failing."""
        return self._remote.breaker.state is not BreakerState.OPEN

    def stats(self) -> RouterStats:
        return RouterStats(
            self._remote.calls, self._misses.batches, self._remote.breaker.state,
            self._remote.budgets["single"].seconds * 1000, len(self._cache), self._cache.epoch,
        )

    def static(self, key: RouteKey, reason: str) -> StepRoute:
        self._observer.static_route(reason)
        match = self._static.match(*key)
        return StepRoute(match.logical_id, RouteSource.STATIC, match.resolved_from.value, reason)

    def _cached(self, key: RouteKey) -> StepRoute | None:
        if not self._trusted():  # the lease on the registry's view has lapsed: what is cached may be stale
            return None
        hit = self._cache.get(key)
        if hit is None:
            return None
        if not self._cache.is_fresh(hit) and not self._flight.pending(key):
            self._refresh_in_background(key)
        self._observer.cache_hit()
        return StepRoute(hit.logical_id, RouteSource.CACHE, hit.resolved_from, RouteStatus.OK.value, hit.epoch)

    def _refresh_in_background(self, key: RouteKey) -> None:
        task = asyncio.get_running_loop().create_task(self._flight.do(key, lambda: self._misses.get(key)))
        self._refreshes.add(task)
        task.add_done_callback(self._refreshes.discard)

    async def route(self, task_type: str, domain: str | None, preferred_logical_id: str | None = None) -> StepRoute:
        key = (task_type, domain)
        if not self._flags.remote_enabled_for(key[0]):
            return self.static(key, FallbackReason.REMOTE_DISABLED)
        if preferred_logical_id:  # a hint changes the answer: neither shared nor cached
            return await self._remote_one(key, preferred_logical_id)
        return self._cached(key) or await self._flight.do(key, lambda: self._misses.get(key))

    async def route_many(self, steps: Sequence[tuple[str, str | None]]) -> list[StepRoute]:
        keys = list(steps)
        decided: dict[RouteKey, StepRoute] = {}
        missing: list[RouteKey] = []
        for key in dict.fromkeys(keys):
            if not self._flags.remote_enabled_for(key[0]):
                decided[key] = self.static(key, FallbackReason.REMOTE_DISABLED)
            elif cached := self._cached(key):
                decided[key] = cached
            else:
                missing.append(key)
        if missing:  # one bulk call for the keys nobody else is already fetching
            decided.update(await self._flight.do_many(missing, self._remote_many, self._misses.get))
        return [decided[key] for key in keys]

    async def _remote_one(self, key: RouteKey, preferred_logical_id: str) -> StepRoute:
        request = ResolveRouteRequest(task=TaskSpec(type=key[0], domain=key[1]), preferred_logical_id=preferred_logical_id)
        answer = await self._remote.one(request)
        if isinstance(answer, FallbackReason):
            return self.static(key, answer)
        return self._accept(key, answer, since=None)

    async def _remote_many(self, keys: list[RouteKey]) -> dict[RouteKey, StepRoute]:
        since = self._cache.changes
        request = ResolveRoutesRequest(tasks=[BulkRouteItem(key=f"{t}|{d or ''}", type=t, domain=d) for t, d in keys])
        answer = await self._remote.many(request)
        if isinstance(answer, FallbackReason):
            self._observer.bulk_items(len(keys), len(keys))
            return {key: self.static(key, answer) for key in keys}
        routes = {key: self._accept(key, result, since) for key, result in zip(keys, answer.results, strict=True)}
        self._observer.bulk_items(len(keys), sum(route.route_source is RouteSource.STATIC for route in routes.values()))
        return routes

    def _accept(self, key: RouteKey, answer: RouteResult, since: int | None) -> StepRoute:
        self._cache.observe_epoch(answer.epoch)  # before storing: a rotation keeps this answer
        if answer.status is not RouteStatus.OK or not answer.logical_id:
            return self.static(key, answer.status.value)
        if since is not None and self._trusted():  # answers to a hint are not cached
            self._cache.put(key, answer.logical_id, answer.resolved_from.value, answer.instance_id, answer.epoch, since)
        return StepRoute(answer.logical_id, RouteSource.REMOTE, answer.resolved_from.value, RouteStatus.OK.value, answer.epoch)
