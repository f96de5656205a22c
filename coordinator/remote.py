"""Calls to the organism under the circuit breaker and the latency budget. Pure.

`RemoteResolver` makes one remote call (single or bulk) if the breaker
allows it, waits at most the budget that follows the organism's observed
latency (`LatencyBudget`), and answers the organism's reply or the
`FallbackReason` it failed with. Errors and timeouts go to the breaker as
what they are; every attempt is reported to the observer.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from contracts.wire import ResolveRouteRequest, ResolveRoutesRequest, ResolveRoutesResponse, RouteResult
from coordinator.breaker import CircuitBreaker
from coordinator.budget import LatencyBudget
from coordinator.route_types import FallbackReason, OrganismResolver, RouteObserver
from coordinator.settings import CoordinatorSettings
from servekit.clock import Clock

T = TypeVar("T")


class RemoteResolver:
    def __init__(
        self, settings: CoordinatorSettings, resolver: OrganismResolver, observer: RouteObserver, clock: Clock = time.monotonic
    ) -> None:
        self._resolver = resolver
        self._observer = observer
        self._clock = clock
        self.breaker = CircuitBreaker(
            settings.breaker_error_threshold, settings.breaker_open_s, settings.breaker_window_s,
            settings.breaker_min_calls, settings.breaker_timeout_ratio, clock,
        )
        self.budgets = {
            "single": LatencyBudget(settings.route_single_timeout_s, settings.route_budget_ceiling_s),
            "bulk": LatencyBudget(settings.route_bulk_timeout_s, 2 * settings.route_budget_ceiling_s),
        }
        self.calls = 0

    async def one(self, request: ResolveRouteRequest) -> RouteResult | FallbackReason:
        return await self._call("single", lambda: self._resolver.resolve_route(request))

    async def many(self, request: ResolveRoutesRequest) -> ResolveRoutesResponse | FallbackReason:
        return await self._call("bulk", lambda: self._resolver.resolve_routes(request))

    async def _call(self, kind: str, remote_call: Callable[[], Awaitable[T]]) -> T | FallbackReason:
        if not self.breaker.allow():
            return FallbackReason.CIRCUIT_OPEN
        self.calls += 1
        budget = self.budgets[kind]
        started = self._clock()
        failure: FallbackReason | None = None
        try:
            answer = await asyncio.wait_for(remote_call(), budget.seconds)
        except TimeoutError:
            failure = FallbackReason.TIMEOUT
            self.breaker.record_timeout()
        except asyncio.CancelledError:
            self.breaker.record_error()  # a cancelled probe must not hold half-open forever
            raise
        except Exception:
            failure = FallbackReason.REMOTE_ERROR
            self.breaker.record_error()
        elapsed = self._clock() - started
        if failure in (None, FallbackReason.TIMEOUT):  # a timeout: slower than the whole budget
            budget.observe(elapsed if failure is None else 2 * budget.seconds)
        if failure is None:
            self.breaker.record_success()
        self._observer.remote_call(kind, elapsed * 1000.0, failure)
        self._observer.breaker_state(self.breaker.state)
        return answer if failure is None else failure
