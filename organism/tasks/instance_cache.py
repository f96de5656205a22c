"""Server-side cache of active-instance lookups, one per OrganismManager replica. Pure.

Keyed `logical_id:epoch` with a short TTL (3 s by default), bounded, and
single-flight per key: N concurrent misses of one key make one registry
lookup. Absent instances are cached too, so a dead organ does not turn every
request into a registry round trip. A new epoch is a new key, so rotation
never serves a previous epoch's answer. The registry's feed of changes makes
a replica `forget` a logical id whose active instances changed (and an answer
that was in flight when that happened is not kept).
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cachetools import TTLCache

from servekit.clock import Clock
from servekit.singleflight import SingleFlight


@dataclass(frozen=True, slots=True)
class ActiveInstance:
    instance_id: str
    actor_name: str


Lookup = Callable[[str], Awaitable[ActiveInstance | None]]  # logical id -> chosen instance


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
        lookup: Lookup,
        ttl_s: float = 3.0,
        maxsize: int = 10_000,
        clock: Clock = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self._clock = clock
        self._entries: TTLCache[str, tuple[ActiveInstance | None, float]] = TTLCache(maxsize, ttl_s, timer=clock)
        self._flight: SingleFlight[str, ActiveInstance | None] = SingleFlight()
        self._changes: dict[str, int] = {}  # logical id -> how often it was forgotten

    async def get(self, logical_id: str, epoch: str) -> CachedLookup:
        key = f"{logical_id}:{epoch}"
        entry = self._entries.get(key)
        if entry is not None:
            instance, stored_at = entry
            return CachedLookup(instance, True, (self._clock() - stored_at) * 1000.0)
        instance = await self._flight.do(key, lambda: self._fill(key, logical_id))
        return CachedLookup(instance, False, 0.0)

    async def _fill(self, key: str, logical_id: str) -> ActiveInstance | None:
        changes = self._changes.get(logical_id, 0)
        instance = await self._lookup(logical_id)
        if self._changes.get(logical_id, 0) == changes:  # an answer from before a pushed change is not kept
            self._entries[key] = (instance, self._clock())
        return instance

    def forget(self, logical_id: str, epoch: str) -> None:
        """The active instances of `logical_id` changed: ask the registry again."""
        self._changes[logical_id] = self._changes.get(logical_id, 0) + 1
        self._entries.pop(f"{logical_id}:{epoch}", None)

    def clear(self) -> int:
        cleared = len(self._entries)
        self._entries.clear()
        for logical_id in self._changes:
            self._changes[logical_id] += 1
        return cleared
