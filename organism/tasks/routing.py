"""Task routing inside an OrganismManager replica: the thin Ray shell around the core.

`TaskRouting` starts (or finds) the registry and organ actors, follows the
registry's view, answers lookups from the replica's `ActiveInstanceCache`
and delegates every decision to the pure core (`resolution`, `RuleTable`).
It speaks typed answers and the exceptions below; the api layer turns them
into HTTP.
"""

import asyncio
import contextlib
import time
from typing import Any

import ray
from ray.exceptions import RayError

from contracts.actor_names import is_organ_actor_name
from contracts.registry_feed import Change, RegistryFollower, RegistryUpdate, RegistryView
from contracts.routing_table import FieldProblem, Rule, RuleTable
from organism.detached import current, kill
from organism.metrics import OrganismMetrics
from organism.settings import OrganismSettings
from organism.state.audit import AuditEntry, AuditStamp
from organism.state.store import StoreUnavailable
from organism.tasks.instance_cache import ActiveInstance, ActiveInstanceCache, CachedLookup
from organism.tasks.organ import drain_and_stop, get_or_create_organ
from organism.tasks.registry_actor import get_or_create_registry
from organism.tasks.registry_view import EpochRotation, RegistrySnapshot
from organism.tasks.resolution import InstanceLookup, Resolution, RouteQuery, resolve, resolve_many
from servekit.context import replica_logger
from servekit.identity import Caller

WATCH_TIMEOUT_S = 30.0
logger = replica_logger(__name__)


class TaskRoutingError(Exception):
    """A request task routing cannot serve; the message is safe to show the caller.

    TaskRoutingError
    +-- RegistryUnavailable   the runtime registry did not answer in time
    +-- UnknownOrgan          no organ is configured for the logical id
    +-- NoActiveInstance      the logical id has no active instance in the current epoch
    +-- OrganTimeout          the organ did not answer within its budget
    +-- OrganUnavailable      the organ failed or is gone
    +-- RuleChangeRefused     a rule change with problems; nothing of it was applied
    """


class RegistryUnavailable(TaskRoutingError):
    pass


class UnknownOrgan(TaskRoutingError):
    pass


class NoActiveInstance(TaskRoutingError):
    pass


class OrganTimeout(TaskRoutingError):
    pass


class OrganUnavailable(TaskRoutingError):
    pass


class RuleChangeRefused(TaskRoutingError):
    def __init__(self, problems: tuple[FieldProblem, ...]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.problem}" for p in problems))
        self.problems = problems


class TaskRouting:
    def __init__(self, settings: OrganismSettings, metrics: OrganismMetrics) -> None:
        self._settings = settings
        self._metrics = metrics
        self._registry: ray.actor.ActorHandle | None = None
        self._organs: dict[str, ray.actor.ActorHandle] = {}
        self._cache = ActiveInstanceCache(self._lookup_active, ttl_s=settings.instance_cache_ttl_s)
        self._follower: RegistryFollower | None = None
        self._following: asyncio.Task | None = None

    async def start(self) -> None:
        """Find (or start, or replace when they run other code) the registry and the organs, tell
        the registry which organs are configured, retire those that no longer are, take the
        registry's view, then follow it for as long as the replica lives."""
        settings = self._settings
        self._registry = await current(lambda: get_or_create_registry(
            settings.registry_actor_name, settings.namespace, settings.state_path, settings.heartbeat_timeout_s,
            sorted(settings.organs), settings.state_actor_resources(),
        ), kill)
        for actor_name, logical_id in settings.organ_actor_names().items():
            self._organs[actor_name] = await current(lambda actor_name=actor_name, logical_id=logical_id: get_or_create_organ(
                actor_name, logical_id, settings.namespace, self._registry, settings.heartbeat_interval_s,
                settings.heartbeat_jitter_s,
            ), drain_and_stop)
        await self._registry.set_known_logical_ids.remote(sorted(self._settings.organs))
        await self._retire_unconfigured_organs()
        self._follower = RegistryFollower(await self._registry.view.remote(), self._on_change)
        self._metrics.rules.set(len(self._follower.table))
        self._following = asyncio.get_running_loop().create_task(
            self._follower.follow(self._registry.watch.remote, WATCH_TIMEOUT_S)
        )

    async def _retire_unconfigured_organs(self) -> list[str]:
        """Organ actors of an earlier deployment that this one does not configure drain and stop."""
        named = await asyncio.to_thread(ray.util.list_named_actors, True)
        wanted = set(self._settings.organ_actor_names())
        retired = [
            a["name"] for a in named
            if a["namespace"] == self._settings.namespace and is_organ_actor_name(a["name"]) and a["name"] not in wanted
        ]
        for name in retired:
            with contextlib.suppress(ValueError):  # another replica got there first
                asyncio.get_running_loop().create_task(
                    drain_and_stop(await asyncio.to_thread(ray.get_actor, name, self._settings.namespace))
                )
        if retired:
            logger.info("retiring organs no longer configured: %s", retired)
        return retired

    def stop(self) -> None:
        if self._following is not None:
            self._following.cancel()

    @property
    def table(self) -> RuleTable:
        return self._follower.table

    async def _ask_registry(self, method: str, *args: Any) -> Any:
        try:
            return await asyncio.wait_for(
                getattr(self._registry, method).remote(*args), self._settings.registry_call_timeout_s
            )
        except StoreUnavailable as error:  # the registry answered; its database did not
            raise StoreUnavailable(f"the runtime registry's store did not answer {method}; nothing was written") from error
        except (TimeoutError, RayError) as error:
            raise RegistryUnavailable(f"runtime registry did not answer {method}: {type(error).__name__}") from error

    async def _lookup_active(self, logical_id: str) -> ActiveInstance | None:
        return await self._ask_registry("active_instance", logical_id)

    def _lookup_in(self, epoch: str) -> InstanceLookup:
        async def lookup(logical_id: str) -> CachedLookup:
            return await self._cache.get(logical_id, epoch)

        return lookup

    def _on_change(self, change: Change) -> None:
        """Drop exactly what the registry's change makes stale."""
        if change.refreshed:
            self._cache.clear()
        for logical_id in change.logical_ids:
            self._cache.forget(logical_id, self._follower.epoch)
        if change.rules:
            self._metrics.rules.set(len(self._follower.table))

    def _take(self, view: RegistryView) -> None:
        """A view the registry answered an admin call with: the same as the feed's next one."""
        self._follower.apply(RegistryUpdate(view))

    # --- resolution -----------------------------------------------------------------
    async def resolve(self, query: RouteQuery) -> tuple[str, Resolution]:
        started = time.perf_counter()
        epoch = self._follower.epoch
        resolution = await resolve(query, self._follower.table, self._lookup_in(epoch))
        self._metrics.resolve_route.inc()
        if resolution.cache_hit:
            self._metrics.cache_hits.inc()
        self._metrics.resolve_latency.observe((time.perf_counter() - started) * 1000, tags={"kind": "single"})
        return epoch, resolution

    async def resolve_many(self, queries: list[RouteQuery]) -> tuple[str, list[Resolution]]:
        started = time.perf_counter()
        epoch = self._follower.epoch
        resolutions = await resolve_many(queries, self._follower.table, self._lookup_in(epoch))
        self._metrics.resolve_routes.inc()
        if queries:  # Ray counters refuse an increment of 0
            self._metrics.resolve_routes_items.inc(len(queries))
        if hits := sum(r.cache_hit for r in resolutions):
            self._metrics.cache_hits.inc(hits)
        self._metrics.resolve_latency.observe((time.perf_counter() - started) * 1000, tags={"kind": "bulk"})
        return epoch, resolutions

    # --- rules, cache, registry ----------------------------------------------------------
    async def change_rules(self, add: list[Rule], remove: list[tuple[str, str | None]], stamp: AuditStamp) -> RuleTable:
        change = await self._ask_registry("change_rules", add, remove, stamp)
        if change.view is None:
            raise RuleChangeRefused(change.problems)
        self._take(change.view)
        return self.table

    async def refresh(self, stamp: AuditStamp) -> int:
        cleared = self._cache.clear()
        self._take(await self._ask_registry("request_refresh", stamp))
        return cleared

    async def snapshot(self) -> RegistrySnapshot:
        return await self._ask_registry("snapshot")

    async def rotate_epoch(self, stamp: AuditStamp) -> EpochRotation:
        rotation = await self._ask_registry("rotate_epoch", stamp)
        self._metrics.epoch_rotations.inc()
        self._take(rotation.view)
        return rotation

    async def audit_page(self, before: str | None, limit: int, action: str | None,
                         subject: str | None) -> tuple[list[tuple[str, AuditEntry]], str | None]:
        return await self._ask_registry("audit_page", before, limit, action, subject)

    async def registry_epoch(self) -> str:
        """The registry's own epoch: proves it answers."""
        return (await self._ask_registry("view")).epoch

    # --- execution --------------------------------------------------------------------
    async def execute(
        self, logical_id: str, task: dict[str, Any], caller: Caller | None = None
    ) -> tuple[str, str, dict[str, Any]]:
        """Run one step on the active instance of `logical_id`: (instance id, epoch, result)."""
        if logical_id not in self._settings.organs:
            raise UnknownOrgan(f"no organ is configured for {logical_id!r}")
        epoch = self._follower.epoch
        found = await self._cache.get(logical_id, epoch)
        if found.instance is None:
            raise NoActiveInstance(f"{logical_id} has no active instance in {epoch}")
        instance_id = found.instance.instance_id
        try:
            organ = self._organs.get(found.instance.actor_name) or await asyncio.to_thread(
                ray.get_actor, found.instance.actor_name, self._settings.namespace
            )
            result = await asyncio.wait_for(organ.execute.remote(task, caller), self._settings.organ_call_timeout_s)
        except TimeoutError as error:
            raise OrganTimeout(f"{instance_id} did not answer in time") from error
        except (RayError, ValueError) as error:  # ValueError: no actor of that name
            raise OrganUnavailable(f"{instance_id} failed: {type(error).__name__}") from error
        return instance_id, epoch, result
