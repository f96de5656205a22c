"""Circuit breaker around the remote organism: failure opens it, mere slowness does not. Pure.

closed --(N errors in a row, or most calls timing out over a window)--> open
open --(open_s elapsed)--> half_open, which lets exactly one probe through:
its success closes the breaker, its failure opens it again. While open,
callers skip the remote entirely.

An error (the organism answered with a failure, or is unreachable) counts
toward the run of errors. A timeout counts only toward the window: the
breaker opens on timeouts when, among at least `min_calls` calls of the last
`window_s`, at least `timeout_ratio` timed out. A burst of five slow answers
under load is not an outage; a minute of them is. `open_s` is short (5 s):
a healthy organism gets its traffic back within seconds.
"""

import time
from collections import deque
from enum import StrEnum

from servekit.clock import Clock


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        error_threshold: int = 5,
        open_s: float = 5.0,
        window_s: float = 10.0,
        min_calls: int = 20,
        timeout_ratio: float = 0.5,
        clock: Clock = time.monotonic,
    ) -> None:
        self._error_threshold = error_threshold
        self._open_s = open_s
        self._window_s = window_s
        self._min_calls = min_calls
        self._timeout_ratio = timeout_ratio
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._errors = 0
        self._recent: deque[tuple[float, bool]] = deque()  # (when, timed out)
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
        self._note(timed_out=False)
        self._state = BreakerState.CLOSED
        self._errors = 0
        self._probe_out = False

    def record_error(self) -> None:
        self._note(timed_out=False)
        self._errors += 1
        if self._state is BreakerState.HALF_OPEN or self._errors >= self._error_threshold:
            self._open()

    def record_timeout(self) -> None:
        self._note(timed_out=True)
        timeouts = sum(timed_out for _, timed_out in self._recent)
        if self._state is BreakerState.HALF_OPEN or (
            len(self._recent) >= self._min_calls and timeouts >= self._timeout_ratio * len(self._recent)
        ):
            self._open()

    def _note(self, timed_out: bool) -> None:
        now = self._clock()
        self._recent.append((now, timed_out))
        while self._recent and self._recent[0][0] < now - self._window_s:
            self._recent.popleft()

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()
        self._errors = 0
        self._recent.clear()
        self._probe_out = False
