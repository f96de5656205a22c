"""The circuit breaker's transitions, as a table of event scripts.

Script tokens: `F` a call that fails, `S` a call that succeeds, `t<s>` time passes,
`A` the next call must be allowed, `D` it must be denied.
"""

import pytest

from coordinator.breaker import BreakerState, CircuitBreaker
from servekit.clock import FakeClock

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


def play(script: str) -> CircuitBreaker:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=5, open_s=30, clock=clock)
    for token in script.split():
        if token in {"F", "S"}:
            assert breaker.allow(), f"a call was denied before {token!r} in {script!r}"
            breaker.record_failure() if token == "F" else breaker.record_success()
        elif token.startswith("t"):
            clock.advance(float(token[1:]))
        else:
            assert breaker.allow() is (token == "A"), f"{token!r} in {script!r}"
    return breaker


@pytest.mark.parametrize(
    "case, script, state",
    [
        ("four failures keep it closed", "F F F F", CLOSED),
        ("the fifth consecutive failure opens it", "F F F F F D", OPEN),
        ("a success resets the count", "F F F F S F F F F A", CLOSED),
        ("still open just before the period ends", "F F F F F t29.9 D", OPEN),
        ("half-open after the period lets exactly one probe", "F F F F F t30 A D D", HALF_OPEN),
        ("a successful probe closes it", "F F F F F t30 S A A A", CLOSED),
        ("a failed probe reopens it for a full period", "F F F F F t30 F t29.9 D", OPEN),
        ("and then half-opens again", "F F F F F t30 F t30 A D", HALF_OPEN),
    ],
)
def test_transitions(case, script, state):
    assert play(script).state is state
