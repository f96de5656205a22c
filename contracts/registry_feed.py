"""The runtime registry's feed of changes, and how a subscriber follows it. Pure.

Every change that can alter a routing answer is published by the registry as
a new version of its `RegistryView` (epoch, editable rules, refresh
generation): a rotation, a rule change, a refresh, and an instance that
became active or stopped being so (registered, drained, stopped, gone stale).
A subscriber long-polls `watch(version)` and gets a `RegistryUpdate`: the view
and the instance changes since its version, or `resync` when it is too far
behind (or the registry restarted) to be told exactly what changed.

`RegistryFollower` holds a subscriber's copy (the organism's replicas and the
coordinator's both use it) and tells it, per update, what changed (`Change`),
so it drops exactly the affected cache entries. TTLs stay a safety net.

The view carries the *control-plane version*: one durable counter that every
change able to alter an answer advances (rules, rotation, refresh, dynamic
config, blacklist and lift, miner removal, organ drain and stop). Each watch
call tells the registry who asks and the version it has applied
(`Subscriber`): that is its acknowledgement, and the registry answers a
write only once every live replica has applied it, or `LEASE_S` has passed.
A follower's *lease* is the reason that is safe: it may answer from what it
holds only until `LEASE_S` after it sent the last watch the registry
answered; a replica that missed a change for that long no longer trusts
its copy (`fresh` is false) and must look again or refuse.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from contracts.pickling import compact
from contracts.refusals import StaleReplica
from contracts.routing_table import Rule, RuleTable

logger = logging.getLogger(__name__)

MAX_RETRY_DELAY_S = 0.5  # a lease must be renewed soon after the registry is back
LEASE_S = 5.0  # a follower trusts its copy this long after the last answered watch it sent
WATCH_TIMEOUT_S = 1.0  # how long a replica's watch waits for news: it renews the lease meanwhile
MIN_VERSION_WAIT_S = 1.0  # how long a request naming a version not applied yet may wait for it
MAX_AWAITED_GAP = 16  # a version further ahead than this is not coming within that wait: refused at once


@compact
@dataclass(frozen=True, slots=True)
class ViewVersion:
    boot: str
    generation: int


@compact
@dataclass(frozen=True, slots=True)
class RegistryView:
    version: ViewVersion  # the feed's position
    epoch: str
    rules: tuple[Rule, ...]
    refresh_generation: int
    control_version: int = 0  # the durable control-plane version this view is at

    def is_older_than(self, other: "RegistryView") -> bool:
        return self.version.boot == other.version.boot and self.version.generation < other.version.generation


@compact
@dataclass(frozen=True, slots=True)
class InstanceChange:
    """An instance of `logical_id` became active, or stopped being active."""

    logical_id: str
    instance_id: str
    active: bool


@compact
@dataclass(frozen=True, slots=True)
class Subscriber:
    """Who follows the feed, and the control-plane version it has applied: its acknowledgement."""

    name: str  # e.g. organism/OrganismManager#a1b2c3
    kind: str  # organism | coordinator (they acknowledge changes) | organ
    applied: int


ACKNOWLEDGING = frozenset({"organism", "coordinator"})


@compact
@dataclass(frozen=True, slots=True)
class RegistryUpdate:
    view: RegistryView
    instances: tuple[InstanceChange, ...] = ()
    resync: bool = False  # the subscriber missed changes: everything it holds may be stale


@compact
@dataclass(frozen=True, slots=True)
class Change:
    """What one update changed, for a subscriber's caches."""

    epoch: bool = False
    rules: bool = False
    refreshed: bool = False  # a refresh was asked for, the registry restarted, or changes were missed
    logical_ids: frozenset[str] = frozenset()  # whose active instances changed


Watch = Callable[[ViewVersion, float, Subscriber], Awaitable[RegistryUpdate]]


class RegistryFollower:
    def __init__(self, first: RegistryView, on_change: Callable[[Change], None], name: str = "", kind: str = "",
                 clock: Callable[[], float] = time.monotonic, lease_s: float = LEASE_S) -> None:
        self._on_change = on_change
        self.view = first
        self.table = RuleTable(first.rules)
        self.name, self.kind = name, kind
        self._clock, self._lease_s = clock, lease_s
        self._fresh_until = float("-inf")
        self._caught_up = asyncio.Event()

    @classmethod
    async def started(cls, fetch: Callable[[], Awaitable[RegistryView]], on_change: Callable[[Change], None],
                      name: str, kind: str, clock: Callable[[], float] = time.monotonic) -> "RegistryFollower":
        """A follower at the registry's current view (a new replica starts there), under a lease from now."""
        sent_at = clock()
        follower = cls(await fetch(), on_change, name, kind, clock)
        follower.renew(sent_at)
        return follower

    @property
    def epoch(self) -> str:
        return self.view.epoch

    @property
    def applied(self) -> int:
        """The control-plane version of what this follower holds (and has applied)."""
        return self.view.control_version

    @property
    def fresh(self) -> bool:
        """Whether the lease holds: the registry answered a watch sent less than `LEASE_S` ago."""
        return self._clock() < self._fresh_until

    def renew(self, sent_at: float) -> None:
        """The registry answered a call sent at `sent_at` (this follower's clock) with its view."""
        self._fresh_until = max(self._fresh_until, sent_at + self._lease_s)

    def subscriber(self) -> Subscriber:
        return Subscriber(self.name, self.kind, self.applied)

    async def ensure_fresh(self, fetch: Callable[[], Awaitable[RegistryView]]) -> None:
        """Within the lease, nothing to do; past it, take the registry's view now (`fetch`) and drop
        everything it may contradict. Raises what `fetch` raises when the registry does not answer."""
        if self.fresh:
            return
        sent_at = self._clock()
        self.apply(RegistryUpdate(await fetch(), resync=True))
        self.renew(sent_at)

    async def at_least(self, version: int) -> None:
        """Return once this follower has applied `version` (waiting a moment for it, when it is a few
        changes ahead: a version a write answered with); else `StaleReplica` at once."""
        if self.applied < version and (version - self.applied > MAX_AWAITED_GAP
                                       or not await self.wait_for(version, MIN_VERSION_WAIT_S)):
            raise StaleReplica(f"replica {self.name} has applied control-plane version {self.applied}, not yet {version}")

    async def wait_for(self, version: int, timeout_s: float) -> bool:
        """Wait until this follower has applied `version` (at most `timeout_s`); whether it has."""
        deadline = self._clock() + timeout_s
        while self.applied < version:
            remaining = deadline - self._clock()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._caught_up.wait(), remaining)
        return True

    def apply(self, update: RegistryUpdate) -> Change | None:
        """Take an update unless its view is older than the one held; say what changed."""
        view, held = update.view, self.view
        if view.is_older_than(held):
            return None
        backwards = view.control_version < held.control_version  # a registry restored from an older state
        if backwards:
            logger.warning("the control-plane version went back from %d to %d: dropping everything held",
                           held.control_version, view.control_version)
        change = Change(
            epoch=view.epoch != held.epoch,
            rules=view.rules != held.rules,
            refreshed=update.resync or backwards
            or (view.version.boot, view.refresh_generation) != (held.version.boot, held.refresh_generation),
            logical_ids=frozenset(c.logical_id for c in update.instances),
        )
        self.view = view
        if change.rules:
            self.table = RuleTable(view.rules)
        if change != Change():
            self._on_change(change)
        self._caught_up.set()  # waiters look again
        self._caught_up = asyncio.Event()
        return change

    async def follow(self, watch: Watch, timeout_s: float) -> None:
        """Long-poll the registry for as long as the task lives; each answer renews the lease."""
        delay = 0.1
        while True:
            try:
                sent_at = self._clock()
                self.apply(await watch(self.view.version, timeout_s, self.subscriber()))
                self.renew(sent_at)
                delay = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as error:  # registry restarting, or not there yet: retry with backoff
                if delay == 0.1:  # once per outage, not once per retry
                    logger.warning("following the registry failed (%s); retrying", type(error).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY_S)
