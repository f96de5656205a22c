"""The coordinator's metrics (`ray.serve.metrics`, exported on Ray's metrics port).

Names are the contract's: `route_cache_hit_total`, `route_remote_total`,
`route_remote_latency_ms`, `route_remote_fail_total`, `bulk_resolve_items`,
`bulk_resolve_failed_items`; plus `route_static_total` by reason and
`route_breaker_state` (0 closed, 1 half-open, 2 open). Ray prefixes `ray_`.
"""

from ray.serve.metrics import Counter, Gauge, Histogram

from coordinator.breaker import BreakerState

LATENCY_BOUNDARIES_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000]
BREAKER_LEVEL = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


class CoordinatorMetrics:
    """A `RouteObserver` that records into Ray metrics; create it inside a replica."""

    def __init__(self) -> None:
        self._cache_hits = Counter("route_cache_hit_total", description="Routes answered from the coordinator cache")
        self._remote = Counter("route_remote_total", description="Remote resolve calls", tag_keys=("kind",))
        self._latency = Histogram(
            "route_remote_latency_ms",
            description="Remote resolve latency (ms)",
            boundaries=LATENCY_BOUNDARIES_MS,
            tag_keys=("kind",),
        )
        self._failures = Counter(
            "route_remote_fail_total", description="Remote resolve failures", tag_keys=("kind", "reason")
        )
        self._bulk_items = Counter("bulk_resolve_items", description="Items sent in bulk resolves")
        self._bulk_failed = Counter("bulk_resolve_failed_items", description="Bulk items routed statically")
        self._static = Counter("route_static_total", description="Static routes by reason", tag_keys=("reason",))
        self._breaker = Gauge("route_breaker_state", description="Circuit breaker: 0 closed, 1 half-open, 2 open")
        self._breaker.set(0)

    def cache_hit(self) -> None:
        self._cache_hits.inc()

    def remote_call(self, kind: str, latency_ms: float, failure: str | None) -> None:
        self._remote.inc(tags={"kind": kind})
        self._latency.observe(latency_ms, tags={"kind": kind})
        if failure is not None:
            self._failures.inc(tags={"kind": kind, "reason": str(failure)})

    def bulk_items(self, items: int, failed: int) -> None:
        self._bulk_items.inc(items)
        if failed:
            self._bulk_failed.inc(failed)

    def static_route(self, reason: str) -> None:
        self._static.inc(tags={"reason": str(reason)})

    def breaker_state(self, state: BreakerState) -> None:
        self._breaker.set(BREAKER_LEVEL[state])
