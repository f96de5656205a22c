"""What one coordinator replica has seen of its recent routes, and which of the routing alerts it would fire. Pure.

`RouteTally` is a `RouteObserver` that keeps the last `WINDOW` answers (from
the cache or remote), remote calls (failed or not) and remote latencies.
`RouteSummary` is what the operator console's overview shows
(`GET /pipeline/stats`); `firing` judges it by the thresholds of the
Prometheus rules in `k8s/monitoring/prometheus-rules.yaml`, over this
window instead of Prometheus's five minutes, so a laptop without Prometheus
still sees what would be firing. Hits over hits plus remote calls is the
rules' hit rate too: a remote call is a miss (a bulk call counts once).
"""

from collections import deque
from dataclasses import dataclass

from coordinator.breaker import BreakerState
from coordinator.route_types import NullObserver

WINDOW = 1000
MIN_JUDGED = 20  # fewer answers (remote calls) than this in the window: too few to call a ratio (a p95)
HIGH_LATENCY_MS = 100.0  # RoutingHighLatency: remote p95 above this
HIGH_FAILURE_RATIO = 0.05  # RoutingHighErrorRate: more remote calls failed than this
HIGH_MISS_RATIO = 0.5  # RoutingCacheMissRate: more answers were remote than this


@dataclass(frozen=True, slots=True)
class Alert:
    name: str  # the Prometheus rule's name
    severity: str
    summary: str


@dataclass(frozen=True, slots=True)
class RouteSummary:
    answers: int  # in the window: from the cache or remote
    cache_hit_ratio: float | None  # None before any answer
    remote_calls: int
    remote_failures: int
    remote_p95_ms: float | None
    remote_latencies: int  # how many the p95 is of
    breaker: BreakerState


class RouteTally(NullObserver):
    def __init__(self, window: int = WINDOW) -> None:
        self._answers: deque[bool] = deque(maxlen=window)  # True: from the cache
        self._failed: deque[bool] = deque(maxlen=window)  # per remote call
        self._latencies: deque[float] = deque(maxlen=window)  # per remote attempt, a timed-out one when it ends
        self._breaker = BreakerState.CLOSED

    def cache_hit(self) -> None:
        self._answers.append(True)

    def remote_call(self, kind: str, failure: str | None) -> None:
        self._answers.append(False)
        self._failed.append(failure is not None)

    def remote_latency(self, kind: str, latency_ms: float) -> None:
        self._latencies.append(latency_ms)

    def breaker_state(self, state: BreakerState) -> None:
        self._breaker = state

    def summary(self) -> RouteSummary:
        answers, latencies = list(self._answers), sorted(self._latencies)
        return RouteSummary(
            answers=len(answers),
            cache_hit_ratio=sum(answers) / len(answers) if answers else None,
            remote_calls=len(self._failed),
            remote_failures=sum(self._failed),
            remote_p95_ms=latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else None,
            remote_latencies=len(latencies),
            breaker=self._breaker,
        )


def firing(summary: RouteSummary) -> list[Alert]:
    """The routing alerts this replica's window would fire (each rule's `for:` aside)."""
    alerts = []
    if summary.remote_latencies >= MIN_JUDGED and summary.remote_p95_ms > HIGH_LATENCY_MS:
        alerts.append(Alert("RoutingHighLatency", "warning",
                            f"remote route resolution p95 {summary.remote_p95_ms:.0f} ms (above {HIGH_LATENCY_MS:.0f})"))
    judged = summary.answers >= MIN_JUDGED
    if summary.breaker is BreakerState.OPEN or (
            judged and summary.remote_calls and summary.remote_failures / summary.remote_calls > HIGH_FAILURE_RATIO):
        alerts.append(Alert("RoutingHighErrorRate", "critical",
                            f"{summary.remote_failures} of {summary.remote_calls} remote calls failed; "
                            f"breaker {summary.breaker.value}"))
    if judged and summary.cache_hit_ratio is not None and 1 - summary.cache_hit_ratio > HIGH_MISS_RATIO:
        alerts.append(Alert("RoutingCacheMissRate", "warning",
                            f"{1 - summary.cache_hit_ratio:.0%} of the last {summary.answers} routes missed the cache"))
    return alerts
