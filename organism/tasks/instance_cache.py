"""Server-side cache of active-instance lookups, one per OrganismManager replica. Pure.

Keyed `(logical_id, epoch)` with a short TTL (3 s by default) and asked in
bulk: `get_many` answers what it holds at once and fetches every miss of the
call with ONE registry call (`Registry.active_instances`), so a bulk resolve
costs the registry at most one call however many ids it names. Single-flight
per key: a key another call is fetching already is joined, never fetched
twice at the same time. A new epoch is a new key, so rotation never serves a
previous epoch's answer. The registry's feed of changes makes a replica
`forget` a logical id whose active instances changed (and an answer that was
in flight when that happened is not kept).

Absent answers (no active instance) are cached too, so a dead organ does not
turn every request into a registry round trip, but in a store of their own,
small and bounded (`absent_maxsize`), beside the store of present answers: a
flood of absent ids evicts only other absent entries, never a present one,
however many requests carry it. We chose the separate store over a bound per
request: a per-request bound still lets ten requests evict the real entries
one after the other, and an absent entry evicted early costs little (its id
is looked up again, batched with the request's other misses). Ids no organ is
configured for never reach this cache (`resolution` skips them).
"""

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from cachetools import TTLCache

from contracts.registry import ActiveInstance
from servekit.clock import Clock
from servekit.singleflight import SingleFlight

Key = tuple[str, str]  # (logical id, epoch)
LookupMany = Callable[[list[str]], Awaitable[dict[str, ActiveInstance | None]]]  # logical ids -> chosen instances


@dataclass(frozen=True, slots=True)
class CachedLookup:
    instance: ActiveInstance | None
    cache_hit: bool
    cache_age_ms: float

    @property
    def instance_id(self) -> str | None:
        return self.instance.instance_id if self.instance else None


class ActiveInstanceCache:
    def __init__(
        self,
        lookup_many: LookupMany,
        ttl_s: float = 3.0,
        maxsize: int = 10_000,
        absent_maxsize: int = 256,
        clock: Clock = time.monotonic,
    ) -> None:
        self._lookup_many = lookup_many
        self._clock = clock
        self._present: TTLCache[Key, tuple[ActiveInstance, float]] = TTLCache(maxsize, ttl_s, timer=clock)
        self._absent: TTLCache[Key, float] = TTLCache(absent_maxsize, ttl_s, timer=clock)  # key -> stored at
        self._flight: SingleFlight[Key, ActiveInstance | None] = SingleFlight()
        self._changes: dict[str, int] = {}  # logical id -> how often it was forgotten

    async def get(self, logical_id: str, epoch: str) -> CachedLookup:
        """One logical id's lookup; raises what the registry raised."""
        answer = (await self.get_many([logical_id], epoch))[logical_id]
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def get_many(self, logical_ids: Iterable[str], epoch: str) -> dict[str, CachedLookup | Exception]:
        """Each id's lookup: the held ones at once, the misses with one registry call. When that call
        fails, each miss is answered with its error (the held ones still answer)."""
        answers: dict[str, CachedLookup | Exception] = {}
        missing: list[Key] = []
        for logical_id in logical_ids:
            held = self._held((logical_id, epoch))
            if held is None:
                missing.append((logical_id, epoch))
            else:
                answers[logical_id] = held
        if missing:
            try:
                fetched = await self._flight.do_many(missing, self._fill, self._fill_one)
            except Exception as error:  # the registry did not answer: these items fail, not the call
                answers.update((logical_id, error) for logical_id, _ in missing)
            else:
                answers.update((logical_id, CachedLookup(instance, False, 0.0)) for (logical_id, _), instance in fetched.items())
        return answers

    def _held(self, key: Key) -> CachedLookup | None:
        if (present := self._present.get(key)) is not None:
            instance, stored_at = present
            return CachedLookup(instance, True, (self._clock() - stored_at) * 1000.0)
        if (stored_at := self._absent.get(key)) is not None:
            return CachedLookup(None, True, (self._clock() - stored_at) * 1000.0)
        return None

    async def _fill(self, keys: list[Key]) -> dict[Key, ActiveInstance | None]:
        changes = {key: self._changes.get(key[0], 0) for key in keys}
        found = await self._lookup_many([logical_id for logical_id, _ in keys])
        now = self._clock()
        for key in keys:
            if self._changes.get(key[0], 0) == changes[key]:  # an answer from before a pushed change is not kept
                self._store(key, found.get(key[0]), now)
        return {key: found.get(key[0]) for key in keys}

    async def _fill_one(self, key: Key) -> ActiveInstance | None:
        return (await self._fill([key]))[key]

    def _store(self, key: Key, instance: ActiveInstance | None, now: float) -> None:
        """Into the store of its kind (a key is fetched only when neither holds it)."""
        if instance is None:
            self._absent[key] = now
        else:
            self._present[key] = (instance, now)

    def forget(self, logical_id: str, epoch: str) -> None:
        """The active instances of `logical_id` changed: ask the registry again."""
        self._changes[logical_id] = self._changes.get(logical_id, 0) + 1
        self._present.pop((logical_id, epoch), None)
        self._absent.pop((logical_id, epoch), None)

    def clear(self) -> int:
        """Forget everything; how many entries (present and absent) were held."""
        cleared = len(self._present) + len(self._absent)
        self._present.clear()
        self._absent.clear()
        for logical_id in self._changes:
            self._changes[logical_id] += 1
        return cleared
