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
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from contracts.routing_table import Rule, RuleTable

logger = logging.getLogger(__name__)

MAX_RETRY_DELAY_S = 5.0


@dataclass(frozen=True, slots=True)
class ViewVersion:
    boot: str
    generation: int


@dataclass(frozen=True, slots=True)
class RegistryView:
    version: ViewVersion
    epoch: str
    rules: tuple[Rule, ...]
    refresh_generation: int

    def is_older_than(self, other: "RegistryView") -> bool:
        return self.version.boot == other.version.boot and self.version.generation < other.version.generation


@dataclass(frozen=True, slots=True)
class InstanceChange:
    """An instance of `logical_id` became active, or stopped being active."""

    logical_id: str
    instance_id: str
    active: bool


@dataclass(frozen=True, slots=True)
class RegistryUpdate:
    view: RegistryView
    instances: tuple[InstanceChange, ...] = ()
    resync: bool = False  # the subscriber missed changes: everything it holds may be stale


@dataclass(frozen=True, slots=True)
class Change:
    """What one update changed, for a subscriber's caches."""

    epoch: bool = False
    rules: bool = False
    refreshed: bool = False  # a refresh was asked for, the registry restarted, or changes were missed
    logical_ids: frozenset[str] = frozenset()  # whose active instances changed


Watch = Callable[[ViewVersion, float], Awaitable[RegistryUpdate]]


class RegistryFollower:
    def __init__(self, first: RegistryView, on_change: Callable[[Change], None]) -> None:
        self._on_change = on_change
        self.view = first
        self.table = RuleTable(first.rules)

    @property
    def epoch(self) -> str:
        return self.view.epoch

    def apply(self, update: RegistryUpdate) -> Change | None:
        """Take an update unless its view is older than the one held; say what changed."""
        view, held = update.view, self.view
        if view.is_older_than(held):
            return None
        change = Change(
            epoch=view.epoch != held.epoch,
            rules=view.rules != held.rules,
            refreshed=update.resync or (view.version.boot, view.refresh_generation) != (held.version.boot, held.refresh_generation),
            logical_ids=frozenset(c.logical_id for c in update.instances),
        )
        self.view = view
        if change.rules:
            self.table = RuleTable(view.rules)
        if change != Change():
            self._on_change(change)
        return change

    async def follow(self, watch: Watch, timeout_s: float) -> None:
        delay = 0.1
        while True:
            try:
                self.apply(await watch(self.view.version, timeout_s))
                delay = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as error:  # registry restarting, or not there yet: retry with backoff
                if delay == 0.1:  # once per outage, not once per retry
                    logger.warning("following the registry failed (%s); retrying", type(error).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY_S)
