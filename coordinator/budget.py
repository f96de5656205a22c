"""How long to wait for the organism: its recent latency with room to spare, within bounds. Pure.

A fixed 50 ms budget is shorter than a healthy organism's own latency under
moderate load, so every answer that took 60 ms became a timeout and a
breaker failure. The budget follows the organism instead: an exponentially
weighted mean and mean deviation of recent successful calls, budget = mean +
4 deviations, never below `floor_s` (the contract's 50 ms) nor above
`ceiling_s` (when the organism is that slow, static routing is the answer).
Before the first answer the budget is the ceiling (patience while nothing is
known, e.g. just after a deploy); a timeout counts as an answer that took
twice the budget, so a budget that is too short doubles within a few calls.
"""


class LatencyBudget:
    def __init__(self, floor_s: float, ceiling_s: float, weight: float = 0.2) -> None:
        self.floor_s = floor_s
        self.ceiling_s = ceiling_s
        self._weight = weight
        self._mean: float | None = None
        self._deviation = 0.0

    def observe(self, latency_s: float) -> None:
        if self._mean is None:
            self._mean = latency_s
            return
        error = latency_s - self._mean
        self._mean += self._weight * error
        self._deviation += self._weight * (abs(error) - self._deviation)

    @property
    def seconds(self) -> float:
        if self._mean is None:
            return self.ceiling_s
        return min(self.ceiling_s, max(self.floor_s, self._mean + 4 * self._deviation))
