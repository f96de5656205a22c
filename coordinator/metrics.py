"""The coordinator's metrics (`ray.serve.metrics`, exported on Ray's metrics port).

Names are the contract's: `route_cache_hit_total`, `route_remote_total`,
`route_remote_latency_ms`, `route_remote_fail_total`, `bulk_resolve_items`,
`bulk_resolve_failed_items`; plus `route_static_total` by reason and
`route_breaker_state` (0 closed, 1 half-open, 2 open). Ray prefixes `ray_`.
Counters and histograms are buffered (`servekit.buffered_metrics`).
"""

from ray.serve.metrics import Gauge

from coordinator.breaker import BreakerState
from coordinator.route_tally import RouteTally
from servekit.buffered_metrics import counter, histogram

LATENCY_BOUNDARIES_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000]
BREAKER_LEVEL = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


class CoordinatorMetrics:
    """A `RouteObserver` that records into Ray metrics and into the replica's window (`tally`); create it inside a
    replica."""

    def __init__(self) -> None:
        self.tally = RouteTally()
        self._cache_hits = counter("route_cache_hit_total", "Routes answered from the coordinator cache")
        self._remote = counter("route_remote_total", "Remote resolve calls", ("kind",))
        self._latency = histogram("route_remote_latency_ms", "Remote resolve latency (ms)", LATENCY_BOUNDARIES_MS, ("kind",))
        self._failures = counter("route_remote_fail_total", "Remote resolve failures", ("kind", "reason"))
        self._bulk_items = counter("bulk_resolve_items", "Items sent in bulk resolves")
        self._bulk_failed = counter("bulk_resolve_failed_items", "Bulk items routed statically")
        self._static = counter("route_static_total", "Static routes by reason", ("reason",))
        self._breaker = Gauge("route_breaker_state", description="Circuit breaker: 0 closed, 1 half-open, 2 open")
        self._breaker.set(0)
        self._breaker_level = 0

    def cache_hit(self) -> None:
        self.tally.cache_hit()
        self._cache_hits.inc()

    def remote_call(self, kind: str, failure: str | None) -> None:
        self.tally.remote_call(kind, failure)
        self._remote.inc(tags={"kind": kind})
        if failure is not None:
            self._failures.inc(tags={"kind": kind, "reason": str(failure)})

    def remote_latency(self, kind: str, latency_ms: float) -> None:
        """How long an attempt really took: a timed-out one is measured when it ends (up to 10 s)."""
        self.tally.remote_latency(kind, latency_ms)
        self._latency.observe(latency_ms, tags={"kind": kind})

    def bulk_items(self, items: int, failed: int) -> None:
        self._bulk_items.inc(items)
        if failed:
            self._bulk_failed.inc(failed)

    def static_route(self, reason: str) -> None:
        self._static.inc(tags={"reason": str(reason)})

    def breaker_state(self, state: BreakerState) -> None:
        self.tally.breaker_state(state)
        if BREAKER_LEVEL[state] != self._breaker_level:  # set on change only: a gauge point costs as much as a count
            self._breaker_level = BREAKER_LEVEL[state]
            self._breaker.set(self._breaker_level)
