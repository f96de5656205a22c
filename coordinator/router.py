"""Route task steps: cache, single-flight, circuit breaker, remote, static. Pure.

For each step: when remote routing is off for its type, the static table
answers. Otherwise a cached answer is used; on a miss one remote call per key
is in flight at a time (single-flight), within a time budget and only while
the breaker allows it. A timeout, an exception, an open breaker or an answer
whose status is not `ok` gives the static route, with `status` saying why.
Bulk routing sends each distinct cache-missing key once and fans the answers
back out; keys another request is already fetching are joined, not resent
(single and bulk share one single-flight); a failed item falls back alone.
The remote side is any `OrganismResolver`: the app adapts a DeploymentHandle, tests pass fakes.
What happens is reported to a `RouteObserver` (the app's metrics).
"""

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar

from contracts.normalize import RouteKey, route_key
from contracts.routing_table import DEFAULT_RULES, Rule, RuleTable
from contracts.wire import (
    BulkRouteItem,
    ResolveRouteRequest,
    ResolveRoutesRequest,
    ResolveRoutesResponse,
    RouteResult,
    RouteStatus,
    TaskSpec,
)
from coordinator.breaker import BreakerState, CircuitBreaker
from coordinator.route_cache import RouteCache
from coordinator.settings import CoordinatorSettings
from servekit.clock import Clock
from servekit.singleflight import SingleFlight

T = TypeVar("T")


class RouteSource(StrEnum):
    CACHE = "cache"
    REMOTE = "remote"
    STATIC = "static"


class FallbackReason(StrEnum):
    """Why a step was routed statically (beside the organism's own non-ok statuses)."""

    REMOTE_DISABLED = "remote_disabled"
    CIRCUIT_OPEN = "circuit_open"
    TIMEOUT = "timeout"
    REMOTE_ERROR = "remote_error"


@dataclass(frozen=True, slots=True)
class StepRoute:
    logical_id: str
    route_source: RouteSource
    resolved_from: str
    status: str
    epoch: str | None = None


@dataclass(frozen=True, slots=True)
class RouterStats:
    remote_calls: int
    breaker: BreakerState
    cache_entries: int
    newest_epoch: str | None


class OrganismResolver(Protocol):
    async def resolve_route(self, request: ResolveRouteRequest) -> RouteResult: ...

    async def resolve_routes(self, request: ResolveRoutesRequest) -> ResolveRoutesResponse: ...


class RouteObserver(Protocol):
    def cache_hit(self) -> None: ...

    def remote_call(self, kind: str, latency_ms: float, failure: str | None) -> None: ...

    def bulk_items(self, items: int, failed: int) -> None: ...

    def static_route(self, reason: str) -> None: ...

    def breaker_state(self, state: BreakerState) -> None: ...


class NullObserver:
    def cache_hit(self) -> None:
        pass

    def remote_call(self, kind: str, latency_ms: float, failure: str | None) -> None:
        pass

    def bulk_items(self, items: int, failed: int) -> None:
        pass

    def static_route(self, reason: str) -> None:
        pass

    def breaker_state(self, state: BreakerState) -> None:
        pass


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
    ) -> None:
        self._settings = settings
        self._resolver = resolver
        self._clock = clock
        self._observer = observer or NullObserver()
        self._static = static_table(settings)
        self._cache = RouteCache(
            settings.route_cache_ttl_s, settings.route_cache_jitter_s, settings.route_cache_max_entries, clock, rng
        )
        self._breaker = CircuitBreaker(settings.breaker_failure_threshold, settings.breaker_open_s, clock)
        self._flight: SingleFlight[RouteKey, StepRoute] = SingleFlight()
        self._remote_calls = 0

    def organism_reachable(self) -> bool:
        """False while the breaker is open: the organism is known to be failing."""
        return self._breaker.state is not BreakerState.OPEN

    def stats(self) -> RouterStats:
        return RouterStats(self._remote_calls, self._breaker.state, len(self._cache), self._cache.epoch)

    def static(self, key: RouteKey, reason: str) -> StepRoute:
        self._observer.static_route(reason)
        match = self._static.match(*key)
        return StepRoute(match.logical_id, RouteSource.STATIC, match.resolved_from.value, reason)

    def _cached(self, key: RouteKey) -> StepRoute | None:
        hit = self._cache.get(key)
        if hit is None:
            return None
        self._observer.cache_hit()
        return StepRoute(hit.logical_id, RouteSource.CACHE, hit.resolved_from, RouteStatus.OK.value, hit.epoch)

    async def route(self, task_type: str, domain: str | None, preferred_logical_id: str | None = None) -> StepRoute:
        key = route_key(task_type, domain)
        if not self._settings.remote_enabled_for(key[0]):
            return self.static(key, FallbackReason.REMOTE_DISABLED)
        if preferred_logical_id:  # a hint changes the answer: neither shared nor cached
            return await self._remote_one(key, preferred_logical_id)
        return self._cached(key) or await self._flight.do(key, lambda: self._remote_one(key, None))

    async def route_many(self, steps: Sequence[tuple[str, str | None]]) -> list[StepRoute]:
        keys = [route_key(task_type, domain) for task_type, domain in steps]
        decided: dict[RouteKey, StepRoute] = {}
        missing: list[RouteKey] = []
        for key in dict.fromkeys(keys):
            if not self._settings.remote_enabled_for(key[0]):
                decided[key] = self.static(key, FallbackReason.REMOTE_DISABLED)
            elif cached := self._cached(key):
                decided[key] = cached
            else:
                missing.append(key)
        if missing:  # one bulk call for the keys nobody else is already fetching
            decided.update(
                await self._flight.do_many(missing, self._remote_many, lambda key: self._remote_one(key, None))
            )
        return [decided[key] for key in keys]

    async def _remote_one(self, key: RouteKey, preferred_logical_id: str | None) -> StepRoute:
        request = ResolveRouteRequest(
            task=TaskSpec(type=key[0], domain=key[1]), preferred_logical_id=preferred_logical_id
        )
        answer = await self._call(
            "single", lambda: self._resolver.resolve_route(request), self._settings.route_single_timeout_s
        )
        if isinstance(answer, FallbackReason):
            return self.static(key, answer)
        return self._accept(key, answer, cache=preferred_logical_id is None)

    async def _remote_many(self, keys: list[RouteKey]) -> dict[RouteKey, StepRoute]:
        request = ResolveRoutesRequest(
            tasks=[BulkRouteItem(key=f"{t}|{d or ''}", type=t, domain=d) for t, d in keys]
        )
        answer = await self._call(
            "bulk", lambda: self._resolver.resolve_routes(request), self._settings.route_bulk_timeout_s
        )
        if isinstance(answer, FallbackReason):
            self._observer.bulk_items(len(keys), len(keys))
            return {key: self.static(key, answer) for key in keys}
        routes = {key: self._accept(key, result, cache=True) for key, result in zip(keys, answer.results, strict=True)}
        failed = sum(route.route_source is RouteSource.STATIC for route in routes.values())
        self._observer.bulk_items(len(keys), failed)
        return routes

    async def _call(
        self, kind: str, remote_call: Callable[[], Awaitable[T]], timeout_s: float
    ) -> T | FallbackReason:
        """Make a remote call under the breaker and the budget; a FallbackReason on failure."""
        if not self._breaker.allow():
            return FallbackReason.CIRCUIT_OPEN
        self._remote_calls += 1
        started = self._clock()
        failure: FallbackReason | None = None
        try:
            answer = await asyncio.wait_for(remote_call(), timeout_s)
        except TimeoutError:
            failure = FallbackReason.TIMEOUT
        except asyncio.CancelledError:
            self._breaker.record_failure()  # a cancelled probe must not hold half-open forever
            raise
        except Exception:
            failure = FallbackReason.REMOTE_ERROR
        if failure is None:
            self._breaker.record_success()
        else:
            self._breaker.record_failure()
        self._observer.remote_call(kind, (self._clock() - started) * 1000.0, failure)
        self._observer.breaker_state(self._breaker.state)
        return answer if failure is None else failure

    def _accept(self, key: RouteKey, answer: RouteResult, cache: bool) -> StepRoute:
        self._cache.observe_epoch(answer.epoch)  # before storing: a rotation keeps this answer
        if answer.status is not RouteStatus.OK or not answer.logical_id:
            return self.static(key, answer.status.value)
        if cache:
            self._cache.put(key, answer.logical_id, answer.resolved_from.value, answer.instance_id, answer.epoch)
        return StepRoute(
            answer.logical_id, RouteSource.REMOTE, answer.resolved_from.value, RouteStatus.OK.value, answer.epoch
        )
