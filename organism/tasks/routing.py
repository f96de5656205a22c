"""Task routing inside an OrganismManager replica: the registry's view, the cache, the organs.

`TaskRouting` follows the registry's view (`contracts.registry_feed`),
answers lookups from the replica's `ActiveInstanceCache`, delegates every
decision to the pure core (`resolution`, `RuleTable`) and runs steps on the
organ the registry names. It talks to the registry and the organs through
their contracts only (`contracts.registry.Registry`, `contracts.organ.Organ`),
so a test hands it in-process ones. Answers are values: a refusal
(`contracts.refusals.Refusal`) when it will not do what was asked; a fault
(`Unavailable`) is raised when the registry or an organ does not answer.

Every answer comes from a view this replica may trust (`ReplicaControl.current`:
within its lease, or fetched now), and every change it makes is answered
once it is in force on every replica (`Acknowledged`).
"""

import asyncio
import time
from collections.abc import Callable
from typing import Any

from contracts.audit import AuditPage, AuditStamp
from contracts.identity import Caller
from contracts.organ import Organ
from contracts.refusals import FieldProblem, Refusal, RefusalKind, RegistryUnavailable, invalid
from contracts.registry import ControlPlane, EpochRotation, Registry, RegistrySnapshot
from contracts.registry_feed import (
    WATCH_TIMEOUT_S,
    Change,
    RegistryFollower,
    RegistryUpdate,
    RegistryView,
    Subscriber,
    ViewVersion,
)
from contracts.routing_table import RouteKey, Rule, RuleTable
from organism.control_plane import Acknowledged, ReplicaControl
from organism.metrics import OrganismMetrics
from organism.tasks.explain import explain
from organism.tasks.instance_cache import ActiveInstanceCache
from organism.tasks.resolution import InstanceLookups, Resolution, RouteQuery, resolve, resolve_many
from organism.tasks.what_if import Moved, RecentKeys, moved

OrganLookup = Callable[[str], Organ]  # actor name -> the organ, as its contract


class TaskRouting:
    def __init__(self, registry: Registry, organ: OrganLookup, configured_organs: set[str], metrics: OrganismMetrics,
                 instance_cache_ttl_s: float, name: str = "organism") -> None:
        self._registry = registry
        self._name = name
        self._organ = organ
        self._configured = configured_organs
        self._metrics = metrics
        self._cache = ActiveInstanceCache(registry.active_instances, ttl_s=instance_cache_ttl_s)
        self._follower: RegistryFollower | None = None
        self.control: ReplicaControl | None = None
        self._following: asyncio.Task | None = None
        self._held_until, self._cut = 0.0, False
        self.recent = RecentKeys()  # what a rule change's dry run compares

    async def start(self) -> None:
        """Take the registry's view (a replica starts at the current version), then follow it for as
        long as the replica lives."""
        self._follower = await RegistryFollower.started(self._registry.view, self._on_change, self._name, "organism")
        self.control = ReplicaControl(self._registry, self._follower, self._view)
        self._metrics.rules.set(len(self._follower.table))
        self._following = asyncio.get_running_loop().create_task(self._follower.follow(self._watch, WATCH_TIMEOUT_S))

    def hold(self, seconds: float, cut: bool) -> str:
        """Fault injection (`OrganismManager.hold_control_plane`): for `seconds` this replica hears no news
        from the registry and acknowledges nothing (its lease lapses); with `cut`, it cannot reach the
        registry at all. Its name, as the registry knows it."""
        self._held_until, self._cut = time.monotonic() + seconds, cut
        return self._name

    def _held(self) -> bool:
        return time.monotonic() < self._held_until

    async def _watch(self, known: ViewVersion, timeout_s: float, subscriber: Subscriber) -> RegistryUpdate:
        while self._held():
            await asyncio.sleep(0.05)
        return await self._registry.watch(known, timeout_s, subscriber)

    async def _view(self) -> RegistryView:
        if self._held() and self._cut:
            raise RegistryUnavailable(f"{self._name} is cut off from the registry (fault injection)")
        return await self._registry.view()

    def stop(self) -> None:
        if self._following is not None:
            self._following.cancel()

    @property
    def table(self) -> RuleTable:
        return self._follower.table

    @property
    def epoch(self) -> str:
        return self._follower.epoch

    def _lookups_in(self, epoch: str) -> InstanceLookups:
        return lambda logical_ids: self._cache.get_many(logical_ids, epoch)

    def _on_change(self, change: Change) -> None:
        """Drop exactly what the registry's change makes stale."""
        if change.refreshed:
            self._cache.clear()
        for logical_id in change.logical_ids:
            self._cache.forget(logical_id, self._follower.epoch)
        if change.rules:
            self._metrics.rules.set(len(self._follower.table))

    # --- resolution -----------------------------------------------------------------
    async def resolve(self, query: RouteQuery) -> tuple[str, Resolution]:
        started = time.perf_counter()
        await self.control.current()
        epoch = self._follower.epoch
        resolution = await resolve(query, self._follower.table, self._lookups_in(epoch), self._configured)
        self.recent.seen(query.key)
        self._metrics.resolve_route.inc()
        if resolution.cache_hit:
            self._metrics.cache_hits.inc()
        self._metrics.resolve_latency.observe((time.perf_counter() - started) * 1000, tags={"kind": "single"})
        return epoch, resolution

    async def explain(self, query: RouteQuery) -> tuple[str, Resolution, dict[str, Any]]:
        """A resolution and why (`explain`): the rule that matched, the instances the registry has of the
        logical ids considered, the one chosen."""
        epoch, resolution = await self.resolve(query)
        snapshot = await self._registry.snapshot()
        return epoch, resolution, explain(query, self.table.match(*query.key), resolution, snapshot, time.time())

    async def resolve_many(self, queries: list[RouteQuery]) -> tuple[str, list[Resolution]]:
        started = time.perf_counter()
        await self.control.current()
        epoch = self._follower.epoch
        resolutions = await resolve_many(queries, self._follower.table, self._lookups_in(epoch), self._configured)
        for query in queries:
            self.recent.seen(query.key)
        self._metrics.resolve_routes.inc()
        if queries:  # Ray counters refuse an increment of 0
            self._metrics.resolve_routes_items.inc(len(queries))
        if hits := sum(r.cache_hit for r in resolutions):
            self._metrics.cache_hits.inc(hits)
        self._metrics.resolve_latency.observe((time.perf_counter() - started) * 1000, tags={"kind": "bulk"})
        return epoch, resolutions

    # --- rules, cache, registry ----------------------------------------------------------
    async def current_table(self) -> RuleTable:
        await self.control.current()
        return self.table

    async def change_rules(self, add: list[Rule], remove: list[RouteKey],
                           stamp: AuditStamp) -> tuple[RuleTable, Acknowledged] | Refusal:
        view = await self._registry.change_rules(add, remove, stamp)
        if isinstance(view, Refusal):
            return view
        acknowledged = await self.control.acknowledge(view)
        return self.table, acknowledged

    async def preview_rules(self, add: list[Rule], remove: list[RouteKey]) -> tuple[RuleTable, list[Moved], int] | Refusal:
        """The table a change would make (refused as the change would be), the recently resolved keys
        it would send elsewhere, and how many were compared; nothing is changed."""
        before = await self.current_table()
        after = before.with_change(add, remove, self._configured)
        if isinstance(after, Refusal):
            return after
        sample = self.recent.keys()
        return after, moved(before, after, sample), len(sample)

    async def refresh(self, stamp: AuditStamp) -> tuple[int, Acknowledged]:
        cleared = self._cache.clear()
        return cleared, await self.control.acknowledge(await self._registry.request_refresh(stamp))

    async def snapshot(self) -> RegistrySnapshot:
        return await self._registry.snapshot()

    async def rotate_epoch(self, stamp: AuditStamp) -> tuple[EpochRotation, Acknowledged]:
        rotation = await self._registry.rotate_epoch(stamp)
        self._metrics.epoch_rotations.inc()
        return rotation, await self.control.acknowledge(rotation.view)

    async def control_plane(self) -> ControlPlane:
        return await self._registry.control_plane()

    async def audit_page(self, before: str | None, limit: int, action: str | None, subject: str | None) -> AuditPage:
        return await self._registry.audit_page(before, limit, action, subject)

    async def registry_epoch(self) -> str:
        """The registry's own epoch: proves it answers."""
        return (await self._registry.view()).epoch

    # --- execution --------------------------------------------------------------------
    async def execute(
        self, logical_id: str, task: dict[str, Any], caller: Caller | None = None
    ) -> tuple[str, str, dict[str, Any]] | Refusal:
        """Run one step on the active instance of `logical_id`: (instance id, epoch, result)."""
        if logical_id not in self._configured:
            return invalid([FieldProblem("logical_id", f"no organ is configured for {logical_id!r}")])
        await self.control.current()
        epoch = self._follower.epoch
        found = await self._cache.get(logical_id, epoch)
        if found.instance is None:
            return Refusal(RefusalKind.NO_ACTIVE_INSTANCE, f"{logical_id} has no active instance in {epoch}")
        result = await self._organ(found.instance.actor_name).execute(task, caller)
        return found.instance.instance_id, epoch, result
