import pytest

from coordinator.breaker import BreakerState
from coordinator.route_tally import RouteTally, firing


def tally_of(hits: int = 0, remote: int = 0, failed: int = 0, latency_ms: float = 5.0,
             breaker: BreakerState = BreakerState.CLOSED, window: int = 1000) -> RouteTally:
    """A tally that saw `hits` cache answers, then `remote` remote calls of which the first `failed` failed."""
    tally = RouteTally(window)
    for _ in range(hits):
        tally.cache_hit()
    for call in range(remote):
        tally.remote_latency("single", latency_ms)
        tally.remote_call("single", "remote_error" if call < failed else None)
    tally.breaker_state(breaker)
    return tally


def test_an_idle_replica_has_no_ratios_and_fires_nothing():
    summary = RouteTally().summary()
    assert (summary.answers, summary.cache_hit_ratio, summary.remote_p95_ms) == (0, None, None)
    assert firing(summary) == []


def test_the_summary_counts_hits_remote_calls_failures_and_the_p95():
    tally = RouteTally()
    for latency in range(1, 101):  # 1..100 ms
        tally.remote_latency("single", float(latency))
        tally.remote_call("single", "timeout" if latency <= 3 else None)
    for _ in range(300):
        tally.cache_hit()
    summary = tally.summary()
    assert (summary.answers, summary.remote_calls, summary.remote_failures) == (400, 100, 3)
    assert summary.cache_hit_ratio == pytest.approx(0.75)
    assert summary.remote_p95_ms == 96.0


def test_the_window_keeps_only_the_newest_answers():
    tally = tally_of(remote=10, window=10)
    for _ in range(10):
        tally.cache_hit()
    summary = tally.summary()
    assert (summary.answers, summary.cache_hit_ratio, summary.remote_calls) == (10, 1.0, 10)


@pytest.mark.parametrize(
    "tally, fired",
    [
        (tally_of(hits=90, remote=10), []),  # healthy: a warm cache, fast and sound remote calls
        (tally_of(hits=180, remote=20, latency_ms=150), ["RoutingHighLatency"]),
        (tally_of(hits=180, remote=20, latency_ms=100), []),  # the threshold is crossed, not reached
        (tally_of(hits=90, remote=10, failed=1), ["RoutingHighErrorRate"]),  # 10 % of remote calls failed
        (tally_of(hits=0, remote=100, failed=5), ["RoutingCacheMissRate"]),  # 5 % failed is not above 5 %
        (tally_of(hits=0, remote=1, breaker=BreakerState.OPEN), ["RoutingHighErrorRate"]),  # open: always
        (tally_of(hits=40, remote=60), ["RoutingCacheMissRate"]),
        (tally_of(hits=50, remote=50), []),  # half missed is not more than half
        (tally_of(hits=0, remote=19, failed=19), []),  # too few answers to judge a ratio
        (tally_of(hits=90, remote=19, latency_ms=500), []),  # too few remote calls to judge a p95 (a cold start)
    ],
)
def test_which_alerts_fire(tally, fired):
    assert [alert.name for alert in firing(tally.summary())] == fired
