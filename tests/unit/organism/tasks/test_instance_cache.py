import asyncio

from contracts.registry import ActiveInstance
from organism.tasks.instance_cache import ActiveInstanceCache
from servekit.clock import FakeClock


class CountingLookup:
    def __init__(self, answers: dict[str, str | None]) -> None:
        self.answers = answers
        self.calls: list[str] = []
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, logical_id: str) -> ActiveInstance | None:
        self.calls.append(logical_id)
        await self.release.wait()
        instance_id = self.answers.get(logical_id)
        return ActiveInstance(instance_id, f"actor-{instance_id}") if instance_id else None


async def test_hit_within_ttl_reports_age_and_miss_after():
    clock = FakeClock()
    lookup = CountingLookup({"organ": "i1"})
    cache = ActiveInstanceCache(lookup, ttl_s=3.0, clock=clock)
    first = await cache.get("organ", "e1")
    assert (first.instance_id, first.cache_hit, first.cache_age_ms) == ("i1", False, 0.0)
    assert first.instance.actor_name == "actor-i1"
    clock.advance(1.5)
    second = await cache.get("organ", "e1")
    assert second.cache_hit and second.cache_age_ms == 1500.0
    clock.advance(1.5)
    third = await cache.get("organ", "e1")
    assert not third.cache_hit
    assert lookup.calls == ["organ", "organ"]


async def test_absent_instance_is_cached_too():
    lookup = CountingLookup({})
    cache = ActiveInstanceCache(lookup, clock=FakeClock())
    assert (await cache.get("organ", "e1")).instance_id is None
    assert (await cache.get("organ", "e1")).cache_hit
    assert len(lookup.calls) == 1


async def test_key_includes_epoch():
    lookup = CountingLookup({"organ": "i1"})
    cache = ActiveInstanceCache(lookup, clock=FakeClock())
    await cache.get("organ", "e1")
    assert not (await cache.get("organ", "e2")).cache_hit
    assert len(lookup.calls) == 2


async def test_many_concurrent_misses_make_exactly_one_lookup():
    lookup = CountingLookup({"organ": "i1"})
    lookup.release.clear()
    cache = ActiveInstanceCache(lookup, clock=FakeClock())
    callers = [asyncio.create_task(cache.get("organ", "e1")) for _ in range(200)]
    await asyncio.sleep(0)
    lookup.release.set()
    answers = await asyncio.gather(*callers)
    assert {a.instance_id for a in answers} == {"i1"}
    assert lookup.calls == ["organ"]


async def test_clear_empties_and_counts():
    lookup = CountingLookup({"a": "1", "b": "2"})
    cache = ActiveInstanceCache(lookup, clock=FakeClock())
    await cache.get("a", "e")
    await cache.get("b", "e")
    assert cache.clear() == 2
    assert not (await cache.get("a", "e")).cache_hit


async def test_cache_is_bounded():
    lookup = CountingLookup({})
    cache = ActiveInstanceCache(lookup, maxsize=10, clock=FakeClock())
    for n in range(50):
        await cache.get(f"organ{n}", "e")
    assert cache.clear() == 10
