import asyncio

import pytest

from service_common.singleflight import SingleFlight


async def test_concurrent_callers_of_one_key_share_one_call():
    flight: SingleFlight[str, int] = SingleFlight()
    calls = 0
    release = asyncio.Event()

    async def slow_call() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        return 42

    waiters = [asyncio.create_task(flight.do("k", slow_call)) for _ in range(100)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiters) == [42] * 100
    assert calls == 1
    assert flight.in_flight() == 0


async def test_error_reaches_every_waiter_and_is_not_remembered():
    flight: SingleFlight[str, int] = SingleFlight()
    release = asyncio.Event()

    async def failing() -> int:
        await release.wait()
        raise RuntimeError("boom")

    waiters = [asyncio.create_task(flight.do("k", failing)) for _ in range(10)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)

    async def works() -> int:
        return 7

    assert await flight.do("k", works) == 7


async def test_different_keys_do_not_wait_on_each_other():
    flight: SingleFlight[str, str] = SingleFlight()
    never = asyncio.Event()

    async def blocked() -> str:
        await never.wait()
        return "never"

    async def quick() -> str:
        return "quick"

    stuck = asyncio.create_task(flight.do("a", blocked))
    await asyncio.sleep(0)
    assert await asyncio.wait_for(flight.do("b", quick), timeout=1) == "quick"
    stuck.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stuck


async def test_cancelled_follower_does_not_cancel_the_leader():
    flight: SingleFlight[str, int] = SingleFlight()
    release = asyncio.Event()

    async def call() -> int:
        await release.wait()
        return 1

    leader = asyncio.create_task(flight.do("k", call))
    await asyncio.sleep(0)
    follower = asyncio.create_task(flight.do("k", call))
    await asyncio.sleep(0)
    follower.cancel()
    release.set()
    assert await leader == 1


async def test_followers_survive_a_cancelled_leader_and_one_of_them_leads():
    flight: SingleFlight[str, int] = SingleFlight()
    calls = 0
    release = asyncio.Event()

    async def call() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        return calls

    leader = asyncio.create_task(flight.do("k", call))
    await asyncio.sleep(0)
    followers = [asyncio.create_task(flight.do("k", call)) for _ in range(5)]
    await asyncio.sleep(0)
    leader.cancel()
    for _ in range(3):
        await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*followers) == [2] * 5  # one new leader, shared by all
    assert leader.cancelled()
