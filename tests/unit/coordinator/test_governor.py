import pytest

from coordinator.drift import DriftValve
from coordinator.governor import Decision, Governor


def test_drift_valve_accumulates_above_allowance_and_resets_after_firing():
    valve = DriftValve(allowance=0.1, threshold=0.5)
    assert [valve.observe(0.3) for _ in range(3)] == [False, False, True]  # 0.2, 0.4, 0.6 > 0.5
    assert valve.level == 0.0
    assert not valve.observe(None) and valve.level == 0.0


def test_drift_valve_drains_on_low_scores_and_never_goes_negative():
    valve = DriftValve(allowance=0.1, threshold=0.5)
    valve.observe(0.4)  # 0.3
    valve.observe(0.0)  # 0.2
    valve.observe(0.0)  # 0.1
    assert valve.level == pytest.approx(0.1)
    valve.observe(0.0)
    valve.observe(0.0)
    assert valve.level == 0.0


def test_threshold_must_be_crossed_not_reached():
    valve = DriftValve(allowance=0.0, threshold=0.5)
    assert not valve.observe(0.5)
    assert valve.observe(0.01)


@pytest.mark.parametrize(
    "task_type, requested, score, expected",
    [
        ("graph_embed", False, None, Decision.FAST),
        ("graph_embed", True, None, Decision.ESCALATE),
        ("graph_embed", False, 0.9, Decision.ESCALATE),
        ("graph_embed", False, 0.2, Decision.FAST),
    ],
)
def test_decision(task_type, requested, score, expected):
    governor = Governor(frozenset({"graph_rag_query_v2"}), DriftValve(0.1, 0.5), max_inflight=4)
    assert governor.decide(task_type, requested, score) is expected


def test_escalations_in_flight_are_bounded():
    governor = Governor(frozenset(), DriftValve(), max_inflight=2)
    assert governor.try_begin_escalation() and governor.try_begin_escalation()
    assert not governor.try_begin_escalation()
    governor.end_escalation()
    assert governor.try_begin_escalation()
