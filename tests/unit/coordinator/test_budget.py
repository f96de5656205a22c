"""The remote budget follows the organism's latency, within its bounds."""

import pytest

from coordinator.budget import LatencyBudget


@pytest.mark.parametrize(
    "case, latencies_ms, expected_ms",
    [
        ("nothing observed yet: the ceiling, patient until something is known", [], 500),
        ("a fast organism: the floor", [5] * 50, 50),
        ("a loaded organism at 80 ms: room above it", [80] * 200, 80),
        ("a jittery organism: mean plus four deviations", [40, 120] * 200, 80 + 4 * 40),
        ("a crawling organism: the ceiling", [900] * 200, 500),
    ],
)
def test_budget(case, latencies_ms, expected_ms):
    budget = LatencyBudget(floor_s=0.05, ceiling_s=0.5)
    for latency in latencies_ms:
        budget.observe(latency / 1000)
    assert budget.seconds * 1000 == pytest.approx(expected_ms, rel=0.1)
