import asyncio

import pytest

from servekit.singleflight import SingleFlight


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


async def test_do_many_joins_keys_in_flight_and_fetches_the_rest_in_one_call():
    flight: SingleFlight[str, str] = SingleFlight()
    release = asyncio.Event()
    batches: list[list[str]] = []
    singles: list[str] = []

    async def one(key: str) -> str:
        singles.append(key)
        await release.wait()
        return f"single:{key}"

    async def many(keys: list[str]) -> dict[str, str]:
        batches.append(sorted(keys))
        await release.wait()
        return {key: f"batch:{key}" for key in keys}

    single_a = asyncio.create_task(flight.do("a", lambda: one("a")))
    await asyncio.sleep(0)
    first = asyncio.create_task(flight.do_many(["a", "b", "c"], many, one))
    await asyncio.sleep(0)
    second = asyncio.create_task(flight.do_many(["b", "c", "d"], many, one))  # b, c joined; d fetched
    late_single = asyncio.create_task(flight.do("c", lambda: one("c")))  # joins the first batch
    await asyncio.sleep(0)
    release.set()
    assert await first == {"a": "single:a", "b": "batch:b", "c": "batch:c"}
    assert await second == {"b": "batch:b", "c": "batch:c", "d": "batch:d"}
    assert await single_a == "single:a" and await late_single == "batch:c"
    assert batches == [["b", "c"], ["d"]] and singles == ["a"]
    assert flight.in_flight() == 0


async def test_do_many_error_reaches_joiners_and_is_not_remembered():
    flight: SingleFlight[str, str] = SingleFlight()
    release = asyncio.Event()

    async def failing(keys: list[str]) -> dict[str, str]:
        await release.wait()
        raise RuntimeError("bulk failed")

    async def one(key: str) -> str:
        return "ok"

    batch = asyncio.create_task(flight.do_many(["a"], failing, one))
    await asyncio.sleep(0)
    joiner = asyncio.create_task(flight.do("a", lambda: one("a")))
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(batch, joiner, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert await flight.do("a", lambda: one("a")) == "ok"
