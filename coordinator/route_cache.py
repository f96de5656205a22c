"""The coordinator's route cache. Pure.

Keyed by the normalized `(type, domain)`; an entry is fresh for `ttl` plus a
jitter drawn uniformly in `[-jitter, +jitter]` (entries stored together do
not expire together), then stale for `stale_s` more: a stale entry may still
answer while the router refreshes it in the background. Bounded, least
recently used evicted first. Only remote `ok` answers are stored.

Change is pushed (the registry's feed): `forget` drops the entries of logical
ids whose instances changed, `reset` drops everything and takes the
registry's epoch as the current one, even when it is lower than before (a
registry whose state was rebuilt). Between pushes, an answer carrying a newer
epoch clears everything first and is then stored, and an answer from an
older epoch is neither stored nor allowed to clear anything. Epochs are
zero-padded counters (`epoch-000042`): newer means longer, then greater.
"""

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass

from cachetools import TLRUCache

from contracts.routing_table import RouteKey
from servekit.clock import Clock


@dataclass(frozen=True, slots=True)
class CachedRoute:
    logical_id: str
    resolved_from: str
    instance_id: str | None
    epoch: str
    stored_at: float
    fresh_until: float


def _order(epoch: str) -> tuple[int, str]:
    return len(epoch), epoch


class RouteCache:
    def __init__(
        self,
        ttl_s: float,
        jitter_s: float,
        maxsize: int = 10_000,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
        stale_s: float = 0.0,
    ) -> None:
        self._clock = clock
        self._rng = rng or random.Random()
        self._stale_s = stale_s
        self.set_lifetime(ttl_s, jitter_s)
        self._entries: TLRUCache[RouteKey, CachedRoute] = TLRUCache(maxsize, self._expiry, timer=clock)
        self.epoch: str | None = None
        self.changes = 0  # bumped by every pushed change: an answer fetched before one is not stored

    def set_lifetime(self, ttl_s: float, jitter_s: float) -> None:
        """Applies to entries stored from now on (a live flag change)."""
        self._ttl_s = ttl_s
        self._jitter_s = jitter_s

    def _expiry(self, key: RouteKey, value: CachedRoute, now: float) -> float:
        return value.fresh_until + self._stale_s

    def lifetime(self) -> float:
        return self._ttl_s + self._rng.uniform(-self._jitter_s, self._jitter_s)

    def get(self, key: RouteKey) -> CachedRoute | None:
        """A fresh or stale entry; `is_fresh` tells which."""
        return self._entries.get(key)

    def is_fresh(self, entry: CachedRoute) -> bool:
        return self._clock() < entry.fresh_until

    def observe_epoch(self, epoch: str) -> bool:
        """Remember `epoch` if it is the newest seen; a newer one clears everything first."""
        if self.epoch is not None and _order(epoch) <= _order(self.epoch):
            return False
        rotated = self.epoch is not None
        if rotated:
            self._entries.clear()
        self.epoch = epoch
        return rotated

    def reset(self, epoch: str) -> None:
        """The registry said so: drop everything, and `epoch` is current even if lower."""
        self._entries.clear()
        self.epoch = epoch
        self.changes += 1

    def forget(self, logical_ids: Iterable[str]) -> int:
        gone = set(logical_ids)
        keys = [key for key, entry in self._entries.items() if entry.logical_id in gone]
        for key in keys:
            del self._entries[key]
        self.changes += 1
        return len(keys)

    def put(
        self, key: RouteKey, logical_id: str, resolved_from: str, instance_id: str | None, epoch: str,
        since: int | None = None,
    ) -> None:
        """Store an answer; `since`: the `changes` count when it was asked for."""
        if since is not None and since != self.changes:
            return  # asked before a pushed change: it may describe what changed
        self.observe_epoch(epoch)
        if epoch != self.epoch:
            return  # an answer from before the rotation
        now = self._clock()
        self._entries[key] = CachedRoute(logical_id, resolved_from, instance_id, epoch, now, now + self.lifetime())

    def __len__(self) -> int:
        return len(self._entries)
