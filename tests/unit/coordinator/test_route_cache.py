import random

from coordinator.route_cache import RouteCache
from servekit.clock import FakeClock


def make_cache(clock: FakeClock, ttl: float = 3.0, jitter: float = 0.5, maxsize: int = 100) -> RouteCache:
    return RouteCache(ttl, jitter, maxsize, clock, random.Random(7))


def test_entry_records_when_it_was_stored_and_expires_after_ttl():
    clock = FakeClock()
    cache = make_cache(clock, ttl=3.0, jitter=0.0)
    cache.put(("t", None), "organ", "task", "i1", "e1")
    assert cache.get(("t", None)).stored_at == clock.now
    clock.advance(2.99)
    assert cache.get(("t", None)) is not None
    clock.advance(0.02)
    assert cache.get(("t", None)) is None


def test_jitter_stays_within_bounds_and_varies():
    cache = make_cache(FakeClock(), ttl=3.0, jitter=0.5)
    lifetimes = [cache.lifetime() for _ in range(2000)]
    assert min(lifetimes) >= 2.5 and max(lifetimes) <= 3.5
    assert max(lifetimes) - min(lifetimes) > 0.8  # actually spread, not a constant


def test_least_recently_used_is_evicted_first():
    cache = make_cache(FakeClock(), maxsize=2)
    cache.put(("a", None), "o", "task", None, "e")
    cache.put(("b", None), "o", "task", None, "e")
    assert cache.get(("a", None)) is not None  # a is now the most recent
    cache.put(("c", None), "o", "task", None, "e")
    assert cache.get(("b", None)) is None
    assert cache.get(("a", None)) is not None and cache.get(("c", None)) is not None


def test_new_epoch_clears_everything_but_keeps_the_answer_that_brought_it():
    cache = make_cache(FakeClock())
    cache.put(("a", None), "o", "task", None, "e1")
    cache.put(("b", "d"), "o", "domain", None, "e1")
    cache.put(("c", None), "o2", "task", None, "e2")
    assert cache.get(("a", None)) is None and cache.get(("b", "d")) is None
    assert cache.get(("c", None)).epoch == "e2"
    assert len(cache) == 1


def test_observing_the_same_epoch_keeps_entries():
    cache = make_cache(FakeClock())
    cache.put(("a", None), "o", "task", None, "e1")
    assert not cache.observe_epoch("e1")
    assert cache.get(("a", None)) is not None
    assert cache.observe_epoch("e2")
    assert cache.get(("a", None)) is None


def test_an_older_epoch_neither_clears_nor_is_cached():
    cache = make_cache(FakeClock())
    cache.put(("a", None), "o", "task", None, "epoch-000002")
    cache.put(("b", None), "o", "task", None, "epoch-000001")  # a replica that has not heard yet
    assert cache.get(("a", None)) is not None and cache.get(("b", None)) is None
    assert cache.epoch == "epoch-000002"
    cache.put(("c", None), "o", "task", None, "epoch-000010")
    assert cache.get(("a", None)) is None and cache.get(("c", None)) is not None
