"""The organism's metrics (`ray.serve.metrics`, exported on Ray's metrics port).

Names are the contract's: `resolve_route_total`, `resolve_routes_total`,
`resolve_routes_items`, `routing_cache_hit_total`, `routing_rules_total`;
plus `resolve_route_latency_ms`, `routing_epoch_rotations_total`, and for job
routing `job_picks_total` by outcome and `job_pick_latency_ms`. The registry
actor exports the control plane's `control_plane_version` and, per replica,
`control_plane_replica_lag_seconds` (how long it has been behind). Ray prefixes `ray_`.
Counters and histograms are buffered (`servekit.buffered_metrics`): a request
only adds to a local tally, flushed to Ray once a second.
"""

from ray.serve.metrics import Gauge
from ray.util import metrics as actor_metrics

from servekit.buffered_metrics import counter, histogram

LATENCY_BOUNDARIES_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000]


class OrganismMetrics:
    """Create inside a replica: Ray metrics need the worker's context."""

    def __init__(self) -> None:
        self.resolve_route = counter("resolve_route_total", "Single resolves")
        self.resolve_routes = counter("resolve_routes_total", "Bulk resolves")
        self.resolve_routes_items = counter("resolve_routes_items", "Items in bulk resolves")
        self.cache_hits = counter("routing_cache_hit_total", "Active-instance lookups served from cache")
        self.rules = Gauge("routing_rules_total", description="Routing rules in force")
        self.resolve_latency = histogram(
            "resolve_route_latency_ms", "Resolve latency inside the organism (ms)", LATENCY_BOUNDARIES_MS, ("kind",)
        )
        self.epoch_rotations = counter("routing_epoch_rotations_total", "Epoch rotations")
        self.picks = counter("job_picks_total", "Miner picks by outcome", ("outcome",))
        self.pick_latency = histogram("job_pick_latency_ms", "Miner pick latency (ms)", LATENCY_BOUNDARIES_MS)


class RegistryMetrics:
    """The control plane's, exported by the registry actor (create inside it)."""

    def __init__(self) -> None:
        self.version = actor_metrics.Gauge("control_plane_version", description="The control plane's current version")
        self.replica_lag = actor_metrics.Gauge(
            "control_plane_replica_lag_seconds", description="How long a replica has been behind the control plane",
            tag_keys=("replica", "kind"),
        )
