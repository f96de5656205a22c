"""The circuit breaker's transitions, as a table of event scripts.

Script tokens: `E` a call that errs, `T` a call that times out, `S` a call that
succeeds, `t<s>` time passes, `A` the next call must be allowed, `D` denied.
The breaker under test: 5 errors in a row, or half of at least 20 calls of the
last 10 s timing out, open it for 5 s.
"""

import pytest

from coordinator.breaker import BreakerState, CircuitBreaker
from servekit.clock import FakeClock

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
RECORD = {"E": "record_error", "T": "record_timeout", "S": "record_success"}


def play(script: str) -> CircuitBreaker:
    clock = FakeClock()
    breaker = CircuitBreaker(error_threshold=5, open_s=5, window_s=10, min_calls=20, timeout_ratio=0.5, clock=clock)
    for token in script.split():
        count, event = (int(token[:-1]), token[-1]) if token[:-1].isdigit() else (1, token)
        if event in RECORD:
            for _ in range(count):
                assert breaker.allow(), f"a call was denied before {token!r} in {script!r}"
                getattr(breaker, RECORD[event])()
        elif event.startswith("t"):
            clock.advance(float(token[1:]))
        else:
            assert breaker.allow() is (token == "A"), f"{token!r} in {script!r}"
    return breaker


@pytest.mark.parametrize(
    "case, script, state",
    [
        ("four errors keep it closed", "4E", CLOSED),
        ("the fifth error in a row opens it", "5E D", OPEN),
        ("a success resets the run of errors", "4E S 4E A", CLOSED),
        ("errors after timeouts still count in a row", "5T 5E", OPEN),
        ("five timeouts alone do not open it", "5T A", CLOSED),
        ("nineteen timeouts: too few calls to judge", "19T A", CLOSED),
        ("half of twenty calls timing out opens it", "10S 10T D", OPEN),
        ("fewer than half timing out keeps it closed", "11S 9T A", CLOSED),
        ("timeouts older than the window are forgotten", "10T t11 10S 9T A", CLOSED),
        ("still open just before the period ends", "5E t4.9 D", OPEN),
        ("half-open after the period lets exactly one probe", "5E t5 A D D", HALF_OPEN),
        ("a successful probe closes it", "5E t5 S A A A", CLOSED),
        ("a failed probe reopens it for a full period", "5E t5 E t4.9 D", OPEN),
        ("a probe that times out reopens it too", "5E t5 T t4.9 D", OPEN),
        ("and then it half-opens again", "5E t5 E t5 A D", HALF_OPEN),
    ],
)
def test_transitions(case, script, state):
    assert play(script).state is state
