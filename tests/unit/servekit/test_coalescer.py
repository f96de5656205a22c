"""Coalescing: single-key calls that arrive together become one batch call."""

import asyncio

import pytest

from servekit.coalescer import Coalescer


class Fetcher:
    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.fail = fail
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, keys: list[str]) -> dict[str, str]:
        self.batches.append(keys)
        await self.release.wait()
        if self.fail:
            raise ConnectionError("down")
        return {key: key.upper() for key in keys}


async def test_calls_within_the_window_share_one_batch_each_gets_its_own_answer():
    fetch = Fetcher()
    coalescer = Coalescer(fetch, window_s=0.01)
    answers = await asyncio.gather(*(coalescer.get(k) for k in ["a", "b", "a", "c"]))
    assert answers == ["A", "B", "A", "C"] and fetch.batches == [["a", "b", "c"]]


async def test_a_full_batch_goes_out_without_waiting_for_the_window():
    fetch = Fetcher()
    coalescer = Coalescer(fetch, window_s=60, max_batch=2)
    assert await asyncio.wait_for(asyncio.gather(coalescer.get("a"), coalescer.get("b")), 1) == ["A", "B"]


async def test_calls_after_the_window_go_in_the_next_batch():
    fetch = Fetcher()
    coalescer = Coalescer(fetch, window_s=0.001)
    await coalescer.get("a")
    await coalescer.get("b")
    assert fetch.batches == [["a"], ["b"]]


async def test_the_batch_error_reaches_every_caller():
    coalescer = Coalescer(Fetcher(fail=True), window_s=0.001)
    results = await asyncio.gather(coalescer.get("a"), coalescer.get("b"), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)


async def test_a_caller_that_gives_up_does_not_cancel_the_batch():
    fetch = Fetcher()
    fetch.release.clear()
    coalescer = Coalescer(fetch, window_s=0.001)
    quitter, stayer = asyncio.create_task(coalescer.get("a")), asyncio.create_task(coalescer.get("b"))
    await asyncio.sleep(0.01)
    quitter.cancel()
    fetch.release.set()
    assert await stayer == "B"
    with pytest.raises(asyncio.CancelledError):
        await quitter


async def test_without_a_window_a_lone_call_goes_at_once():
    fetch = Fetcher()
    coalescer = Coalescer(fetch, window_s=None)
    assert await asyncio.wait_for(coalescer.get("a"), 0.05) == "A"  # no timer to wait for
    assert fetch.batches == [["a"]]


async def test_without_a_window_calls_made_while_a_batch_is_out_go_together_when_it_returns():
    fetch = Fetcher()
    fetch.release.clear()
    coalescer = Coalescer(fetch, window_s=None)
    first = asyncio.create_task(coalescer.get("a"))
    await asyncio.sleep(0.01)  # "a" is out
    later = [asyncio.create_task(coalescer.get(k)) for k in ("b", "c", "d")]
    await asyncio.sleep(0.01)
    assert fetch.batches == [["a"]]  # the others wait for it, not for a timer
    fetch.release.set()
    assert await asyncio.gather(first, *later) == ["A", "B", "C", "D"]
    assert fetch.batches == [["a"], ["b", "c", "d"]]


async def test_without_a_window_the_next_batch_goes_after_a_failed_one():
    fetch = Fetcher(fail=True)
    fetch.release.clear()
    coalescer = Coalescer(fetch, window_s=None)
    first = asyncio.create_task(coalescer.get("a"))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(coalescer.get("b"))
    await asyncio.sleep(0.01)
    fetch.release.set()
    results = await asyncio.wait_for(asyncio.gather(first, second, return_exceptions=True), 1)
    assert all(isinstance(r, ConnectionError) for r in results) and fetch.batches == [["a"], ["b"]]
