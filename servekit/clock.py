"""Injected clocks: every TTL in the project reads one of these. Pure.

`Clock` is any zero-argument callable returning seconds. Production code uses
`time.time` (wall clock, for values that are stored or shown) or
`time.monotonic` (for in-process TTLs); tests pass a `FakeClock` they advance
by hand, so no unit test sleeps.
"""

from collections.abc import Callable

Clock = Callable[[], float]


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
