"""How long to wait for the organism: its recent slowest answer with room to spare, within bounds. Pure.

A fixed 50 ms budget is shorter than a healthy organism's own latency under
moderate load, so every answer that took 60 ms became a timeout and a
breaker failure. A mean-plus-deviations estimate (TCP's RTO) is not enough
either: on a busy two-core box the organism's latency has a tail of about
four times its median (p50 75 ms, p99 325 ms measured under a CPU hog) that
an exponentially weighted average forgets within a few calls, so each
scheduling hiccup turned a batch of routes static. The budget therefore
remembers the tail: twice the slowest of the last `WINDOW` calls, never
below `floor_s` (the contract's 50 ms) nor above `ceiling_s` (when the
organism is that slow, static routing is the answer). Before the first
answer the budget is the ceiling (patience while nothing is known, e.g. just
after a deploy); a timeout counts as a call that took the whole budget, so
each timeout doubles the budget at once, and it stays up while that call is
in the window.
"""

from collections import deque

WINDOW = 200
HEADROOM = 2.0


class LatencyBudget:
    def __init__(self, floor_s: float, ceiling_s: float) -> None:
        self.floor_s = floor_s
        self.ceiling_s = ceiling_s
        self._recent: deque[float] = deque(maxlen=WINDOW)
        self._seconds = ceiling_s

    def observe(self, latency_s: float) -> None:
        self._recent.append(latency_s)
        self._seconds = min(self.ceiling_s, max(self.floor_s, HEADROOM * max(self._recent)))

    @property
    def seconds(self) -> float:
        return self._seconds
