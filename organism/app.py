"""OrganismManager: the dispatcher's Serve deployment and its HTTP API.

A thin shell: it follows the registry's view (epoch and rules) by long-poll,
answers lookups from the per-replica `ActiveInstanceCache`, and delegates
every decision to the pure core (`resolution`, `RuleTable`). Every route is
also a method callable through a DeploymentHandle with the same models.
Job routing (miners) comes from the `JobRoutes` mixin.
"""

import asyncio
import time
from dataclasses import asdict
from typing import Any

import ray
from ray import serve
from ray.exceptions import RayError
from ray.serve import Application

from organism.ingress import app
from organism.instance_cache import ActiveInstance, ActiveInstanceCache, CachedLookup
from organism.job_routes import JobRoutes
from organism.metrics import OrganismMetrics
from organism.jobs.picker_actor import get_or_create_picker
from organism.organ import get_or_create_organ
from organism.registry_actor import get_or_create_registry
from organism.resolution import InstanceLookup, RouteQuery, resolve, resolve_many
from organism.settings import OrganismSettings
from service_common.auth import Caller
from service_common.http import ApiError, caller_of, configure_replica, replica_logger, require_admin, require_service, validation_error
from service_common.normalize import route_key
from service_common.routing_table import Rule, RuleTable
from service_common.wire import (
    BulkRouteResult,
    CategoryOut,
    EpochRotated,
    ExecuteRequest,
    ExecuteResponse,
    Health,
    RefreshResponse,
    RegistryView,
    ResolveRouteRequest,
    ResolveRoutesRequest,
    ResolveRoutesResponse,
    RouteResult,
    RuleOut,
    RulesUpdate,
    RulesView,
)

logger = replica_logger(__name__)

WATCH_TIMEOUT_S = 30.0



def _is_older(version: str, than: str) -> bool:
    """Views are `boot:generation`; only a view of the same registry boot can be older."""
    boot, generation = version.split(":")
    current_boot, current_generation = than.split(":")
    return boot == current_boot and int(generation) < int(current_generation)


def _preferred(logical_id: str | None) -> str | None:
    return (logical_id or "").strip() or None


@serve.deployment(
    name="OrganismManager",
    num_replicas=2,
    max_ongoing_requests=200,
    ray_actor_options={"num_cpus": 0.1},
)
@serve.ingress(app)
class OrganismManager(JobRoutes):
    async def __init__(self, settings: OrganismSettings) -> None:
        configure_replica()
        self._settings = settings
        self._metrics = OrganismMetrics()
        self._picker = get_or_create_picker(
            settings.picker_actor_name,
            settings.namespace,
            settings.jobs_db,
            settings.netuid,
            settings.state_actor_resources(),
        )
        self._registry = get_or_create_registry(
            settings.registry_actor_name,
            settings.namespace,
            settings.state_db,
            settings.heartbeat_timeout_s,
            sorted(settings.organs),
            settings.state_actor_resources(),
        )
        self._organs = {
            actor_name: get_or_create_organ(
                actor_name,
                logical_id,
                settings.namespace,
                self._registry,
                settings.heartbeat_interval_s,
                settings.heartbeat_jitter_s,
            )
            for actor_name, logical_id in settings.organ_actor_names().items()
        }
        self._cache = ActiveInstanceCache(self._lookup_active, ttl_s=settings.instance_cache_ttl_s)
        self._view: dict[str, Any] = {}
        self._table = RuleTable()
        self._apply_view(await self._registry.view.remote())
        self._follower = asyncio.get_running_loop().create_task(self._follow_registry())

    def __del__(self) -> None:
        self._follower.cancel()

    # --- registry view ----------------------------------------------------------------
    def _apply_view(self, view: dict[str, Any]) -> None:
        if self._view and _is_older(view["version"], self._view["version"]):
            return  # a reply that crossed a newer one: never roll rules or epoch back
        if self._view and view["refresh_generation"] != self._view["refresh_generation"]:
            self._cache.clear()
        self._view = view
        self._table = RuleTable(
            (Rule(**doc) for doc in view["rules"]), self._table.categories, self._table.fallback
        )
        self._metrics.rules.set(len(self._table))

    async def _follow_registry(self) -> None:
        delay = 0.1
        while True:
            try:
                view = await self._registry.watch.remote(self._view["version"], WATCH_TIMEOUT_S)
                self._apply_view(view)
                delay = 0.1
            except Exception as error:  # registry restarting: retry with backoff
                logger.warning("following the registry failed (%s); retry in %.1fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _ask_registry(self, method: str, *args: Any) -> Any:
        try:
            return await asyncio.wait_for(
                getattr(self._registry, method).remote(*args), self._settings.registry_call_timeout_s
            )
        except (asyncio.TimeoutError, RayError) as error:
            raise ApiError(503, "RegistryUnavailable", f"runtime registry did not answer {method}: {type(error).__name__}") from error

    async def _lookup_active(self, logical_id: str) -> ActiveInstance | None:
        return await self._ask_registry("active_instance", logical_id)

    def _lookup_in(self, epoch: str) -> InstanceLookup:
        async def lookup(logical_id: str) -> CachedLookup:
            return await self._cache.get(logical_id, epoch)

        return lookup

    # --- resolution -------------------------------------------------------------------
    @app.post("/resolve-route")
    async def resolve_route(self, request: ResolveRouteRequest, caller: Caller = require_service) -> RouteResult:
        caller_of(caller)
        started = time.perf_counter()
        epoch = self._view["epoch"]
        query = RouteQuery(
            route_key(request.task.type, request.task.domain), _preferred(request.preferred_logical_id)
        )
        resolution = await resolve(query, self._table, self._lookup_in(epoch))
        self._metrics.resolve_route.inc()
        if resolution.cache_hit:
            self._metrics.cache_hits.inc()
        self._metrics.resolve_latency.observe((time.perf_counter() - started) * 1000, tags={"kind": "single"})
        return RouteResult(epoch=epoch, **asdict(resolution))

    @app.post("/resolve-routes")
    async def resolve_routes(self, request: ResolveRoutesRequest, caller: Caller = require_service) -> ResolveRoutesResponse:
        caller_of(caller)
        epoch = self._view["epoch"]
        queries = [
            RouteQuery(route_key(item.type, item.domain), _preferred(item.preferred_logical_id))
            for item in request.tasks
        ]
        started = time.perf_counter()
        resolutions = await resolve_many(queries, self._table, self._lookup_in(epoch))
        self._metrics.resolve_routes.inc()
        if queries:  # Ray counters refuse an increment of 0
            self._metrics.resolve_routes_items.inc(len(queries))
        if hits := sum(r.cache_hit for r in resolutions):
            self._metrics.cache_hits.inc(hits)
        self._metrics.resolve_latency.observe((time.perf_counter() - started) * 1000, tags={"kind": "bulk"})
        return ResolveRoutesResponse(
            epoch=epoch,
            results=[
                BulkRouteResult(key=item.key, epoch=epoch, **asdict(resolution))
                for item, resolution in zip(request.tasks, resolutions)
            ],
        )

    # --- rules ------------------------------------------------------------------------
    @app.get("/routing/rules", dependencies=[require_service])
    async def get_rules(self) -> RulesView:
        table = self._table
        return RulesView(
            rules=[RuleOut(task_type=r.task_type, domain=r.domain, logical_id=r.logical_id) for r in table.rules()],
            categories=[CategoryOut(pattern=c.pattern, logical_id=c.logical_id) for c in table.categories],
            fallback=table.fallback,
        )

    @app.put("/routing/rules", dependencies=[require_admin])
    async def update_rules(self, update: RulesUpdate) -> RulesView:
        outcome = await self._ask_registry(
            "change_rules",
            [rule.model_dump() for rule in update.add],
            [(ref.task_type, ref.domain) for ref in update.remove],
        )
        if outcome["problems"]:
            raise validation_error(outcome["problems"])
        self._apply_view(outcome["view"])
        return await self.get_rules()

    @app.post("/routing/refresh", dependencies=[require_admin])
    async def refresh(self) -> RefreshResponse:
        cleared = self._cache.clear()
        self._apply_view(await self._ask_registry("request_refresh"))
        return RefreshResponse(cleared_entries=cleared)

    # --- registry ---------------------------------------------------------------------
    @app.get("/registry", dependencies=[require_service])
    async def registry(self) -> RegistryView:
        return RegistryView(**await self._ask_registry("snapshot"))

    @app.post("/registry/epoch", dependencies=[require_admin])
    async def rotate_epoch(self) -> EpochRotated:
        rotated = await self._ask_registry("rotate_epoch")
        self._metrics.epoch_rotations.inc()
        self._apply_view(rotated["view"])
        return EpochRotated(previous_epoch=rotated["previous_epoch"], epoch=rotated["epoch"])

    # --- execution --------------------------------------------------------------------
    @app.post("/execute")
    async def execute(self, request: ExecuteRequest, caller: Caller = require_service) -> ExecuteResponse:
        caller_of(caller)
        if request.logical_id not in self._settings.organs:
            raise validation_error([("logical_id", f"no organ is configured for {request.logical_id!r}")])
        epoch = self._view["epoch"]
        found = await self._cache.get(request.logical_id, epoch)
        if found.instance is None:
            raise ApiError(503, "NoActiveInstance", f"{request.logical_id} has no active instance in {epoch}")
        try:
            organ = self._organs.get(found.instance.actor_name) or await asyncio.to_thread(
                ray.get_actor, found.instance.actor_name, self._settings.namespace
            )
            result = await asyncio.wait_for(
                organ.execute.remote(request.task.model_dump()), self._settings.organ_call_timeout_s
            )
        except asyncio.TimeoutError as error:
            raise ApiError(504, "OrganTimeout", f"{found.instance.instance_id} did not answer in time") from error
        except (RayError, ValueError) as error:  # ValueError: no actor of that name
            raise ApiError(503, "OrganUnavailable", f"{found.instance.instance_id} failed: {type(error).__name__}") from error
        return ExecuteResponse(
            logical_id=request.logical_id, instance_id=found.instance.instance_id, epoch=epoch, result=result
        )

    @app.get("/health")
    async def health(self) -> Health:
        view = await self._ask_registry("view")
        return Health(status="ok", epoch=view["epoch"])


def build_app(args: dict[str, Any]) -> Application:
    """Serve application builder: `import_path: organism.app:build_app`."""
    return OrganismManager.bind(OrganismSettings(**args))
