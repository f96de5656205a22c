from coordinator.breaker import BreakerState, CircuitBreaker
from service_common.clock import FakeClock


def failed(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        assert breaker.allow()
        breaker.record_failure()


def test_opens_after_consecutive_failures_only():
    breaker = CircuitBreaker(failure_threshold=5, open_s=30, clock=FakeClock())
    failed(breaker, 4)
    breaker.record_success()
    failed(breaker, 4)
    assert breaker.state is BreakerState.CLOSED
    failed(breaker, 1)
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()


def test_half_open_after_open_period_lets_exactly_one_probe():
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=5, open_s=30, clock=clock)
    failed(breaker, 5)
    clock.advance(29.9)
    assert not breaker.allow()
    clock.advance(0.1)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()
    assert not breaker.allow() and not breaker.allow()


def test_probe_success_closes():
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=2, open_s=10, clock=clock)
    failed(breaker, 2)
    clock.advance(10)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert all(breaker.allow() for _ in range(10))


def test_probe_failure_reopens_for_a_full_period():
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=2, open_s=10, clock=clock)
    failed(breaker, 2)
    clock.advance(10)
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.advance(9.9)
    assert not breaker.allow()
    clock.advance(0.1)
    assert breaker.allow()
