"""The remote budget follows the organism's tail latency, within its bounds, and forgets old calls."""

import pytest

from coordinator.budget import LatencyBudget


@pytest.mark.parametrize(
    "case, latencies_ms, expected_ms",
    [
        ("nothing observed yet: the ceiling, patient until something is known", [], 500),
        ("a fast organism: the floor", [5] * 50, 50),
        ("a loaded organism at 80 ms: twice its slowest", [80] * 200, 160),
        ("a long tail (p50 75, slowest 200 ms): twice the slowest, not the mean", [75] * 196 + [200] * 4, 400),
        ("a slow first answer is not forgotten by the next fast one", [200, 5], 400),
        ("a tail that has left the window: forgotten", [200] * 4 + [75] * 200, 150),
        ("a crawling organism: the ceiling", [900] * 200, 500),
    ],
)
def test_budget(case, latencies_ms, expected_ms):
    budget = LatencyBudget(floor_s=0.05, ceiling_s=0.5)
    for latency in latencies_ms:
        budget.observe(latency / 1000)
    assert budget.seconds * 1000 == pytest.approx(expected_ms, rel=0.1)


def test_each_timeout_doubles_the_budget_at_once_up_to_the_ceiling():
    budget = LatencyBudget(floor_s=0.05, ceiling_s=0.5)
    for _ in range(50):
        budget.observe(0.01)
    seen = []
    for _ in range(4):  # what RemoteResolver records for a timed-out call: the whole budget
        budget.observe(budget.seconds)
        seen.append(round(budget.seconds * 1000))
    assert seen == [100, 200, 400, 500]
