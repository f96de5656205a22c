"""The coordinator's route cache. Pure.

Keyed by the normalized `(type, domain)`; each entry lives `ttl` plus a
jitter drawn uniformly in `[-jitter, +jitter]`, so entries stored together
do not expire together; bounded, least recently used evicted first. The
cache remembers the newest epoch it saw: an answer carrying a newer epoch
clears everything first and is then stored, so the answer that revealed the
rotation is not lost; an answer from an older epoch (a replica that has not
heard of the rotation yet) is neither stored nor allowed to clear anything.
Epochs are the registry's zero-padded counters (`epoch-000042`), so newer
means longer, then greater. Only remote `ok` answers are stored; static fallbacks
never are.
"""

import random
import time
from dataclasses import dataclass

from cachetools import TLRUCache

from contracts.normalize import RouteKey
from servekit.clock import Clock


@dataclass(frozen=True, slots=True)
class CachedRoute:
    logical_id: str
    resolved_from: str
    instance_id: str | None
    epoch: str
    stored_at: float


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
    ) -> None:
        self._ttl_s = ttl_s
        self._jitter_s = jitter_s
        self._clock = clock
        self._rng = rng or random.Random()
        self._entries: TLRUCache[RouteKey, CachedRoute] = TLRUCache(maxsize, self._expiry, timer=clock)
        self.epoch: str | None = None

    def _expiry(self, key: RouteKey, value: CachedRoute, now: float) -> float:
        return now + self.lifetime()

    def lifetime(self) -> float:
        return self._ttl_s + self._rng.uniform(-self._jitter_s, self._jitter_s)

    def get(self, key: RouteKey) -> CachedRoute | None:
        return self._entries.get(key)

    def observe_epoch(self, epoch: str) -> bool:
        """Remember `epoch` if it is the newest seen; a newer one clears everything first."""
        if self.epoch is not None and _order(epoch) <= _order(self.epoch):
            return False
        rotated = self.epoch is not None
        if rotated:
            self._entries.clear()
        self.epoch = epoch
        return rotated

    def put(self, key: RouteKey, logical_id: str, resolved_from: str, instance_id: str | None, epoch: str) -> None:
        self.observe_epoch(epoch)
        if epoch != self.epoch:
            return  # an answer from before the rotation
        self._entries[key] = CachedRoute(logical_id, resolved_from, instance_id, epoch, self._clock())

    def __len__(self) -> int:
        return len(self._entries)
