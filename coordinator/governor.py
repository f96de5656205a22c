"""Fast path or escalation, and the bound on escalations in flight. Pure.

A task escalates (plan with Cognitive, then route every step) when its type
is configured as multi-step, when the request asks for it, or when the drift
valve fires on its drift score; otherwise it takes the fast path (one route).
At most `max_inflight` escalations run at once per replica; beyond that the
caller is told to come back later instead of queueing without bound.
"""

from enum import StrEnum

from coordinator.drift import DriftValve


class Decision(StrEnum):
    FAST = "fast"
    ESCALATE = "escalate"


class Governor:
    def __init__(self, multi_step_types: frozenset[str], valve: DriftValve, max_inflight: int) -> None:
        self._multi_step_types = multi_step_types
        self._valve = valve
        self._max_inflight = max_inflight
        self.inflight = 0

    def decide(self, task_type: str, escalate_requested: bool, drift_score: float | None) -> Decision:
        drifted = self._valve.observe(drift_score)
        multi_step = task_type in self._multi_step_types
        return Decision.ESCALATE if (multi_step or escalate_requested or drifted) else Decision.FAST

    def try_begin_escalation(self) -> bool:
        if self.inflight >= self._max_inflight:
            return False
        self.inflight += 1
        return True

    def end_escalation(self) -> None:
        self.inflight -= 1
