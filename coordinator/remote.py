"""Calls to the organism under the circuit breaker and the latency budget. Pure.

`RemoteResolver` makes one remote call (single or bulk) if the breaker
allows it, waits at most the budget that follows the organism's observed
latency (`LatencyBudget`), and answers the organism's reply or the
`FallbackReason` it failed with. Errors and timeouts go to the breaker as
what they are; every attempt is reported to the observer. A timed-out
attempt is not cut: it runs on in the background (at most
`LATENCY_WATCH_S`), so the latency histogram holds how long the organism
really took, not the budget (which would hide slowness behind timeouts).
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
LATENCY_WATCH_S = 10.0


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
        attempt = asyncio.ensure_future(remote_call())
        try:
            answer = await asyncio.wait_for(asyncio.shield(attempt), budget.seconds)
        except TimeoutError:
            failure = FallbackReason.TIMEOUT
            self.breaker.record_timeout()
            self._measure_in_background(kind, attempt, started)
        except asyncio.CancelledError:
            attempt.cancel()
            self.breaker.record_error()  # a cancelled probe must not hold half-open forever
            raise
        except Exception:
            failure = FallbackReason.REMOTE_ERROR
            self.breaker.record_error()
        elapsed = self._clock() - started
        if failure is None:
            budget.observe(elapsed)
            self.breaker.record_success()
        elif failure is FallbackReason.TIMEOUT:  # it took at least the whole budget: the budget doubles
            budget.observe(budget.seconds)
        if failure is not FallbackReason.TIMEOUT:
            self._observer.remote_latency(kind, elapsed * 1000.0)
        self._observer.remote_call(kind, failure)
        self._observer.breaker_state(self.breaker.state)
        return answer if failure is None else failure

    def _measure_in_background(self, kind: str, attempt: asyncio.Future, started: float) -> None:
        """Record the timed-out attempt's real latency when it ends; cancel it after LATENCY_WATCH_S."""
        deadline = asyncio.get_running_loop().call_later(LATENCY_WATCH_S, attempt.cancel)

        def ended(done: asyncio.Future) -> None:
            deadline.cancel()
            if not done.cancelled():
                done.exception()  # retrieved: the answer came too late to matter
            self._observer.remote_latency(kind, (self._clock() - started) * 1000.0)

        attempt.add_done_callback(ended)
