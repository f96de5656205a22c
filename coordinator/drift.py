"""CUSUM drift valve: escalate when the drift scores of recent tasks add up. Pure.

One-sided CUSUM: `s = max(0, s + score - allowance)`; when `s` crosses the
threshold the valve fires (the task escalates) and `s` starts again from 0.
Scores below the allowance drain it. Tasks without a score leave it alone.
"""


class DriftValve:
    def __init__(self, allowance: float = 0.1, threshold: float = 0.5) -> None:
        self.allowance = allowance
        self.threshold = threshold
        self.level = 0.0

    def observe(self, score: float | None) -> bool:
        if score is None:
            return False
        self.level = max(0.0, self.level + score - self.allowance)
        if self.level > self.threshold:
            self.level = 0.0
            return True
        return False
