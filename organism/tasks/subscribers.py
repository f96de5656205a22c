"""Who follows the registry's feed, and which control-plane version each has applied. Pure.

Every watch call says who asks and the version it has applied
(`contracts.registry_feed.Subscriber`): that is its acknowledgement of every
change up to it. A subscriber is *live* while it has watched within
`LIVE_S`, longer than a lease: one silent for less may still answer from
what it holds. Live replicas (organism and coordinator, not organs) must have
applied a change before it is acknowledged: `late(version)` names those that
have not. `reports` say, per subscriber, its version and how long it has
been behind the registry's (for `GET /organism/control-plane`, the lag
metric and its alert). `wait_applied` is how a write waits for them.
"""

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contracts.registry import SubscriberReport
from contracts.registry_feed import ACKNOWLEDGING, LEASE_S, Subscriber

# a replica watches every second; one silent for longer than its lease (and a margin) can trust nothing it
# holds any more, so it is no longer waited for; one silent for less may still answer from its lease: it is
LIVE_S = LEASE_S + 1.0
FORGOTTEN_S = 60.0


@dataclass(slots=True)
class _Seen:
    subscriber: Subscriber
    at: float
    behind_since: float | None  # since when its version has been below the registry's


class Subscribers:
    def __init__(self, clock: Callable[[], float], live_s: float = LIVE_S) -> None:
        self._clock, self._live_s = clock, live_s
        self._seen: dict[str, _Seen] = {}
        self._applied = asyncio.Event()  # set whenever a subscriber reports its version

    def seen(self, subscriber: Subscriber, current: int) -> None:
        """A watch call of `subscriber`, while the registry is at version `current`."""
        now = self._clock()
        earlier = self._seen.get(subscriber.name)
        behind_since = None
        if subscriber.applied < current:
            behind_since = earlier.behind_since if earlier and earlier.behind_since is not None else now
        self._seen[subscriber.name] = _Seen(subscriber, now, behind_since)
        self._applied.set()
        self._applied = asyncio.Event()

    def advanced(self, version: int) -> None:
        """The registry is at `version` now: whoever has not applied it is behind from now on."""
        now = self._clock()
        for seen in self._seen.values():
            if seen.subscriber.applied < version and seen.behind_since is None:
                seen.behind_since = now

    def _live(self) -> list[_Seen]:
        now = self._clock()
        for name in [n for n, s in self._seen.items() if now - s.at > FORGOTTEN_S]:
            del self._seen[name]
        return [s for s in self._seen.values() if now - s.at <= self._live_s]

    def late(self, version: int) -> list[str]:
        """Live replicas that have not applied `version` yet."""
        return sorted(s.subscriber.name for s in self._live()
                      if s.subscriber.kind in ACKNOWLEDGING and s.subscriber.applied < version)

    async def wait_applied(self, version: int, bound_s: float, not_before: float) -> list[str]:
        """Wait, at most `bound_s`, until every replica live now has applied `version`, or has been silent for
        so long that its lease is surely over, and `not_before` has passed (this clock's); those that did not
        apply it (and, before `not_before`, the replicas of a previous registry this table cannot know)."""
        deadline = self._clock() + bound_s
        waiting = self.late(version)
        while True:
            live = {s.subscriber.name for s in self._live()}
            behind = [name for name in waiting if self._seen[name].subscriber.applied < version]
            unsure = [name for name in behind if name in live] or (["replicas the previous registry knew"]
                                                                   if self._clock() < not_before else [])
            remaining = deadline - self._clock()
            if not unsure or remaining <= 0:
                return behind or unsure
            applied = self._applied
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(applied.wait(), min(remaining, 0.1))

    def export_lag(self, gauge: Any, current: int, reported: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """Set each live replica's lag on `gauge`; one gone is set to 0 once (a dead replica raises no alert).
        What was reported, for the next round."""
        live = {(r.name, r.kind): r.lag_s for r in self.reports(current) if r.kind in ACKNOWLEDGING}
        for name, kind in reported - set(live):
            gauge.set(0.0, tags={"replica": name, "kind": kind})
        for (name, kind), lag_s in live.items():
            gauge.set(lag_s, tags={"replica": name, "kind": kind})
        return set(live)

    def highest_applied(self) -> int:
        """The highest version any live subscriber has applied (a registry restored from an older
        state finds it above its own)."""
        return max((s.subscriber.applied for s in self._live()), default=0)

    def reports(self, current: int) -> list[SubscriberReport]:
        now = self._clock()
        return [
            SubscriberReport(s.subscriber.name, s.subscriber.kind, s.subscriber.applied, current - s.subscriber.applied,
                             0.0 if s.behind_since is None else round(now - s.behind_since, 3), round(now - s.at, 3))
            for s in sorted(self._live(), key=lambda s: (s.subscriber.kind, s.subscriber.name))
        ]
