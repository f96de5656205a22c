"""The organism's metrics (`ray.serve.metrics`, exported on Ray's metrics port).

Names are the contract's: `resolve_route_total`, `resolve_routes_total`,
`resolve_routes_items`, `routing_cache_hit_total`, `routing_rules_total`;
plus `resolve_route_latency_ms`, `routing_epoch_rotations_total`, and for job
routing `job_picks_total` by outcome and `job_pick_latency_ms`. Ray prefixes `ray_`.
"""

from ray.serve.metrics import Counter, Gauge, Histogram

LATENCY_BOUNDARIES_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000]


class OrganismMetrics:
    """Create inside a replica: Ray metrics need the worker's context."""

    def __init__(self) -> None:
        self.resolve_route = Counter("resolve_route_total", description="Single resolves")
        self.resolve_routes = Counter("resolve_routes_total", description="Bulk resolves")
        self.resolve_routes_items = Counter("resolve_routes_items", description="Items in bulk resolves")
        self.cache_hits = Counter("routing_cache_hit_total", description="Active-instance lookups served from cache")
        self.rules = Gauge("routing_rules_total", description="Routing rules in force")
        self.resolve_latency = Histogram(
            "resolve_route_latency_ms",
            description="Resolve latency inside the organism (ms)",
            boundaries=LATENCY_BOUNDARIES_MS,
            tag_keys=("kind",),
        )
        self.epoch_rotations = Counter("routing_epoch_rotations_total", description="Epoch rotations")
        self.picks = Counter("job_picks_total", description="Miner picks by outcome", tag_keys=("outcome",))
        self.pick_latency = Histogram(
            "job_pick_latency_ms", description="Miner pick latency (ms)", boundaries=LATENCY_BOUNDARIES_MS
        )
