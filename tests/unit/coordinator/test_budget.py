"""The remote budget follows the organism's tail latency, within its bounds, and forgets old calls."""

import pytest

from coordinator.budget import LatencyBudget


@pytest.mark.parametrize(
    "case, latencies_ms, expected_ms",
    [
        ("nothing observed yet: the ceiling, patient until something is known", [], 500),
        ("a fast organism: the floor", [5] * 50, 50),
        ("a loaded organism at 80 ms: twice its tail", [80] * 200, 160),
        ("a long tail (p50 75, p99 200 ms): twice the p99, not the mean", [75] * 196 + [200] * 4, 400),
        ("one hiccup in the window: not enough to move the p99", [75] * 199 + [450], 150),
        ("a tail that has left the window: forgotten", [200] * 4 + [75] * 200, 150),
        ("a crawling organism: the ceiling", [900] * 200, 500),
    ],
)
def test_budget(case, latencies_ms, expected_ms):
    budget = LatencyBudget(floor_s=0.05, ceiling_s=0.5)
    for latency in latencies_ms:
        budget.observe(latency / 1000)
    assert budget.seconds * 1000 == pytest.approx(expected_ms, rel=0.1)
