"""Circuit breaker around the remote organism. Pure, injected clock.

closed --(N consecutive failures)--> open --(open_s elapsed)--> half_open
half_open lets exactly one probe through: its success closes the breaker,
its failure opens it again. While open, callers skip the remote entirely.
"""

import time
from enum import StrEnum

from servekit.clock import Clock


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(self, failure_threshold: int = 5, open_s: float = 30.0, clock: Clock = time.monotonic) -> None:
        self._threshold = failure_threshold
        self._open_s = open_s
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_out = False

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self._open_s:
            self._state = BreakerState.HALF_OPEN
            self._probe_out = False
        return self._state

    def allow(self) -> bool:
        """May a call go through now? In half-open, only the first caller may."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probe_out:
            self._probe_out = True
            return True
        return False

    def record_success(self) -> None:
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._probe_out = False

    def record_failure(self) -> None:
        if self._state is BreakerState.HALF_OPEN:
            self._open()
            return
        self._failures += 1
        if self._failures >= self._threshold:
            self._open()

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()
        self._failures = 0
        self._probe_out = False
