import asyncio

import pytest

from organism.tasks.instance_cache import ActiveInstanceCache
from servekit.clock import FakeClock
from tests.fakes import ScriptedDirectory


def cache_over(directory: ScriptedDirectory, clock: FakeClock | None = None, **bounds: int) -> ActiveInstanceCache:
    return ActiveInstanceCache(directory.active_instances, ttl_s=3.0, clock=clock or FakeClock(), **bounds)


async def test_hit_within_ttl_reports_age_and_miss_after():
    clock = FakeClock()
    directory = ScriptedDirectory({"organ": "i1"})
    cache = cache_over(directory, clock)
    first = await cache.get("organ", "e1")
    assert (first.instance_id, first.cache_hit, first.cache_age_ms) == ("i1", False, 0.0)
    assert first.instance.actor_name == "actor-i1"
    clock.advance(1.5)
    second = await cache.get("organ", "e1")
    assert second.cache_hit and second.cache_age_ms == 1500.0
    clock.advance(1.5)
    third = await cache.get("organ", "e1")
    assert not third.cache_hit
    assert directory.calls == [["organ"], ["organ"]]


async def test_absent_instance_is_cached_too():
    directory = ScriptedDirectory({})
    cache = cache_over(directory)
    assert (await cache.get("organ", "e1")).instance_id is None
    assert (await cache.get("organ", "e1")).cache_hit
    assert len(directory.calls) == 1


async def test_key_includes_epoch():
    directory = ScriptedDirectory({"organ": "i1"})
    cache = cache_over(directory)
    await cache.get("organ", "e1")
    assert not (await cache.get("organ", "e2")).cache_hit
    assert len(directory.calls) == 2


async def test_many_concurrent_misses_make_exactly_one_lookup():
    directory = ScriptedDirectory({"organ": "i1"})
    directory.release.clear()
    cache = cache_over(directory)
    callers = [asyncio.create_task(cache.get("organ", "e1")) for _ in range(200)]
    await asyncio.sleep(0)
    directory.release.set()
    answers = await asyncio.gather(*callers)
    assert {a.instance_id for a in answers} == {"i1"}
    assert directory.calls == [["organ"]]


@pytest.mark.parametrize(
    "held, asked, fetched",
    [
        ([], ["a", "b", "c"], [["a", "b", "c"]]),  # every miss in one call
        (["a", "c"], ["a", "b", "c"], [["b"]]),  # held ones are not asked for
        (["a", "b"], ["a", "b"], []),  # nothing missing: no call
        ([], [f"id{n}" for n in range(1000)], [[f"id{n}" for n in range(1000)]]),
    ],
)
async def test_get_many_fetches_every_miss_with_one_call(held, asked, fetched):
    directory = ScriptedDirectory({"a": "1", "c": "3"})
    cache = cache_over(directory)
    await cache.get_many(held, "e")
    directory.calls.clear()
    answers = await cache.get_many(asked, "e")
    assert directory.calls == fetched
    assert set(answers) == set(asked)
    assert [answers[i].cache_hit for i in asked] == [i in held for i in asked]
    assert [answers[i].instance_id for i in asked] == [directory.alive.get(i) for i in asked]


async def test_a_key_another_call_is_fetching_is_joined_not_fetched_again():
    directory = ScriptedDirectory({"a": "1", "b": "2"})
    directory.release.clear()
    cache = cache_over(directory)
    first = asyncio.create_task(cache.get_many(["a"], "e"))
    await asyncio.sleep(0)
    second = asyncio.create_task(cache.get_many(["a", "b"], "e"))
    await asyncio.sleep(0)
    directory.release.set()
    assert (await first)["a"].instance_id == (await second)["a"].instance_id == "1"
    assert directory.calls == [["a"], ["b"]]


async def test_a_failed_lookup_fails_only_the_misses_and_is_not_cached():
    directory = ScriptedDirectory({"a": "1", "b": "2"})
    cache = cache_over(directory)
    await cache.get("a", "e")
    directory.failure = ConnectionError("registry unreachable")
    answers = await cache.get_many(["a", "b"], "e")
    assert answers["a"].instance_id == "1" and isinstance(answers["b"], ConnectionError)
    with pytest.raises(ConnectionError):
        await cache.get("b", "e")
    directory.failure = None
    assert (await cache.get("b", "e")).instance_id == "2"


async def test_an_answer_in_flight_when_its_id_is_forgotten_is_not_kept():
    directory = ScriptedDirectory({"a": "old"})
    directory.release.clear()
    cache = cache_over(directory)
    in_flight = asyncio.create_task(cache.get("a", "e"))
    await asyncio.sleep(0)
    cache.forget("a", "e")  # the feed: a's active instances changed meanwhile
    directory.release.set()
    assert (await in_flight).instance_id == "old"
    directory.alive["a"] = "new"
    assert (await cache.get("a", "e")).instance_id == "new"


async def test_present_entries_survive_a_flood_of_absent_ones():
    """Ten bulk requests of 1,000 ids that have no instance: the organ's entry is still held."""
    directory = ScriptedDirectory({"organ": "i1"})
    cache = cache_over(directory, maxsize=10, absent_maxsize=8)
    await cache.get("organ", "e")
    for request in range(10):
        await cache.get_many([f"nobody-{request}-{n}" for n in range(1000)], "e")
    held = await cache.get("organ", "e")
    assert (held.instance_id, held.cache_hit) == ("i1", True)
    assert len(directory.calls) == 11  # one per request, the organ's first lookup included
    assert cache.clear() == 1 + 8  # the absent entries are bounded by their own store


async def test_clear_empties_and_counts():
    directory = ScriptedDirectory({"a": "1"})
    cache = cache_over(directory)
    await cache.get_many(["a", "b"], "e")
    assert cache.clear() == 2
    assert not (await cache.get("a", "e")).cache_hit


async def test_present_entries_are_bounded():
    directory = ScriptedDirectory({f"organ{n}": str(n) for n in range(50)})
    cache = cache_over(directory, maxsize=10)
    await cache.get_many([f"organ{n}" for n in range(50)], "e")
    assert cache.clear() == 10
