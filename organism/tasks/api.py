"""HTTP routes of task routing (`/organism`): resolve, rules, registry, execute.

`TaskApi` is one half of the OrganismManager's class-based FastAPI view; its
only state is `tasks`, the replica's `TaskRouting`. Every route is also a
method callable through a DeploymentHandle with the same models. Typed
failures of the core (`TaskRoutingError`) become HTTP errors in one place,
`on_task_routing_error`, through one table, `STATUS`.
"""

from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from contracts.normalize import route_key
from contracts.routing_table import Rule, RuleTable
from contracts.wire import (
    BulkRouteResult,
    ExecuteRequest,
    ExecuteResponse,
    Health,
    ResolveRouteRequest,
    ResolveRoutesRequest,
    ResolveRoutesResponse,
    RouteResult,
)
from organism.state.audit import current_stamp
from organism.tasks.models import (
    CategoryOut,
    EpochRotated,
    InstanceOut,
    RefreshResponse,
    RegistryOut,
    RuleOut,
    RulesUpdate,
    RulesView,
)
from organism.tasks.resolution import RouteQuery
from organism.tasks.routing import (
    NoActiveInstance,
    OrganTimeout,
    OrganUnavailable,
    RegistryUnavailable,
    RuleChangeRefused,
    TaskRouting,
    TaskRoutingError,
    UnknownOrgan,
)
from servekit.auth import caller_of, require_admin, require_service
from servekit.control_plane import ensure_control_plane, requires_control_plane
from servekit.errors import error_response, on_api_error, validation_error
from servekit.identity import Caller
from servekit.openapi import errors

router = APIRouter(tags=["task routing"])

STATUS: dict[type[TaskRoutingError], int] = {
    RegistryUnavailable: 503,
    NoActiveInstance: 503,
    OrganUnavailable: 503,
    OrganTimeout: 504,
}


async def on_task_routing_error(request: Request, failure: TaskRoutingError) -> JSONResponse:
    if isinstance(failure, RuleChangeRefused):
        return await on_api_error(request, validation_error([(p.field, p.problem) for p in failure.problems]))
    if isinstance(failure, UnknownOrgan):
        return await on_api_error(request, validation_error([("logical_id", str(failure))]))
    return error_response(STATUS[type(failure)], type(failure).__name__, str(failure))


def _preferred(logical_id: str | None) -> str | None:
    return (logical_id or "").strip() or None


def _rules_view(table: RuleTable) -> RulesView:
    return RulesView(
        rules=[RuleOut(task_type=r.task_type, domain=r.domain, logical_id=r.logical_id) for r in table.rules()],
        categories=[CategoryOut(pattern=c.pattern, logical_id=c.logical_id) for c in table.categories],
        fallback=table.fallback,
    )


class TaskApi:
    tasks: TaskRouting

    @router.post("/resolve-route")
    async def resolve_route(self, request: ResolveRouteRequest, caller: Caller = require_service) -> RouteResult:
        caller_of(caller)
        query = RouteQuery(route_key(request.task.type, request.task.domain), _preferred(request.preferred_logical_id))
        epoch, resolution = await self.tasks.resolve(query)
        return RouteResult(epoch=epoch, **asdict(resolution))

    @router.post("/resolve-routes")
    async def resolve_routes(
        self, request: ResolveRoutesRequest, caller: Caller = require_service
    ) -> ResolveRoutesResponse:
        caller_of(caller)
        queries = [
            RouteQuery(route_key(item.type, item.domain), _preferred(item.preferred_logical_id))
            for item in request.tasks
        ]
        epoch, resolutions = await self.tasks.resolve_many(queries)
        return ResolveRoutesResponse(
            epoch=epoch,
            results=[
                BulkRouteResult(key=item.key, epoch=epoch, **asdict(resolution))
                for item, resolution in zip(request.tasks, resolutions, strict=True)
            ],
        )

    @router.get("/routing/rules", dependencies=[require_service])
    async def get_rules(self) -> RulesView:
        return _rules_view(self.tasks.table)

    @router.put("/routing/rules", dependencies=[require_admin, requires_control_plane])
    async def update_rules(self, update: RulesUpdate) -> RulesView:
        add = [Rule(rule.task_type, rule.domain, rule.logical_id) for rule in update.add]
        remove = [(ref.task_type, ref.domain) for ref in update.remove]
        return _rules_view(await self.tasks.change_rules(add, remove, current_stamp()))

    @router.post("/routing/refresh", dependencies=[require_admin, requires_control_plane])
    async def refresh(self) -> RefreshResponse:
        return RefreshResponse(cleared_entries=await self.tasks.refresh(current_stamp()))

    @router.get("/registry", dependencies=[require_service])
    async def registry(self) -> RegistryOut:
        snapshot = await self.tasks.snapshot()
        instances = [InstanceOut(**asdict(report.instance), active=report.active) for report in snapshot.instances]
        return RegistryOut(epoch=snapshot.epoch, heartbeat_timeout_s=snapshot.heartbeat_timeout_s, instances=instances)

    @router.post("/registry/epoch", dependencies=[require_admin, requires_control_plane])
    async def rotate_epoch(self) -> EpochRotated:
        rotation = await self.tasks.rotate_epoch(current_stamp())
        return EpochRotated(previous_epoch=rotation.previous_epoch, epoch=rotation.view.epoch)

    @router.post("/execute", responses=errors(504))
    async def execute(self, request: ExecuteRequest, caller: Caller = require_service) -> ExecuteResponse:
        instance_id, epoch, result = await self.tasks.execute(
            request.logical_id, request.task.model_dump(), caller_of(caller)
        )
        return ExecuteResponse(logical_id=request.logical_id, instance_id=instance_id, epoch=epoch, result=result)

    @router.get("/health")
    async def health(self) -> Health:
        ensure_control_plane()
        return Health(status="ok", epoch=await self.tasks.registry_epoch())
