"""HTTP routes of task routing (`/organism`): resolve, rules, registry, execute.

`TaskApi` is the task wing of the OrganismManager's app: its routes are its
methods (`servekit.routes`), over the replica's `TaskRouting`. Request
models normalize types and domains (`contracts.bounds`); refusals become
HTTP through the organism's one table (`organism.api`).
"""

from dataclasses import asdict
from typing import Annotated

from fastapi import Query, Response

from contracts.identity import Caller
from contracts.registry_feed import ACKNOWLEDGING
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
from organism.api import CHANGE, accepted, acknowledged
from organism.state.audit import current_stamp
from organism.tasks.models import (
    CategoryOut,
    ControlPlaneOut,
    EpochRotated,
    InstanceOut,
    MovedOut,
    RefreshResponse,
    RegistryOut,
    ReplicaOut,
    RuleOut,
    RulesPreview,
    RulesUpdate,
    RulesView,
)
from organism.tasks.resolution import RouteQuery
from organism.tasks.routing import TaskRouting
from servekit.auth import caller_of, require_admin, require_service
from servekit.control_plane import ensure_control_plane, requires_control_plane
from servekit.openapi import errors
from servekit.routes import route

TAGS = ["task routing"]


def _rules_view(table: RuleTable) -> RulesView:
    return RulesView(
        rules=[RuleOut(task_type=r.task_type, domain=r.domain, logical_id=r.logical_id) for r in table.rules()],
        categories=[CategoryOut(pattern=c.pattern, logical_id=c.logical_id) for c in table.categories],
        fallback=table.fallback,
    )


class TaskApi:
    def __init__(self, tasks: TaskRouting) -> None:
        self.tasks = tasks

    @route.post("/resolve-route")
    async def resolve_route(self, request: ResolveRouteRequest, caller: Caller = require_service,
                            explain: Annotated[bool, Query(description="say why: the rule, the instances, the one chosen")] = False,
                            ) -> RouteResult:
        caller_of(caller)
        query = RouteQuery((request.task.type, request.task.domain), request.preferred_logical_id)
        if explain:
            epoch, resolution, why = await self.tasks.explain(query)
            return RouteResult(epoch=epoch, **asdict(resolution), explain=why)
        epoch, resolution = await self.tasks.resolve(query)
        return RouteResult(epoch=epoch, **asdict(resolution))

    @route.post("/resolve-routes")
    async def resolve_routes(
        self, request: ResolveRoutesRequest, caller: Caller = require_service
    ) -> ResolveRoutesResponse:
        caller_of(caller)
        queries = [RouteQuery((item.type, item.domain), item.preferred_logical_id) for item in request.tasks]
        epoch, resolutions = await self.tasks.resolve_many(queries)
        return ResolveRoutesResponse(
            epoch=epoch,
            results=[
                BulkRouteResult(key=item.key, epoch=epoch, **asdict(resolution))
                for item, resolution in zip(request.tasks, resolutions, strict=True)
            ],
        )

    @route.get("/routing/rules", dependencies=[require_service])
    async def get_rules(self) -> RulesView:
        return _rules_view(await self.tasks.current_table())

    @route.put("/routing/rules", dependencies=[require_admin, requires_control_plane], openapi_extra=CHANGE)
    async def update_rules(self, update: RulesUpdate, response: Response,
                           dry_run: bool = Query(False, description="change nothing: answer what the change would"
                                                 " move, among the keys this replica resolved lately")
                           ) -> RulesView | RulesPreview:
        """All or nothing; answered once every replica has applied it (the version: `X-Control-Plane-Version`).
        With `dry_run`, nothing changes: the answer names the recently resolved keys it would send elsewhere."""
        add = [Rule(rule.task_type, rule.domain, rule.logical_id) for rule in update.add]
        remove = [(ref.task_type, ref.domain) for ref in update.remove]
        if dry_run:
            table, moves, sampled = accepted(await self.tasks.preview_rules(add, remove))
            return RulesPreview(sampled=sampled, rules=_rules_view(table), moved=[
                MovedOut(task_type=m.key[0], domain=m.key[1], before=m.before.logical_id, after=m.after.logical_id,
                         resolved_from=m.after.resolved_from.value) for m in moves])
        table, change = accepted(await self.tasks.change_rules(add, remove, current_stamp()))
        acknowledged(response, change)
        return _rules_view(table)

    @route.post("/routing/refresh", dependencies=[require_admin, requires_control_plane], openapi_extra=CHANGE)
    async def refresh(self, response: Response) -> RefreshResponse:
        cleared, change = await self.tasks.refresh(current_stamp())
        acknowledged(response, change)
        return RefreshResponse(cleared_entries=cleared)

    @route.get("/registry", dependencies=[require_service])
    async def registry(self) -> RegistryOut:
        snapshot = await self.tasks.snapshot()
        instances = [InstanceOut(**asdict(report.instance), active=report.active) for report in snapshot.instances]
        return RegistryOut(epoch=snapshot.epoch, heartbeat_timeout_s=snapshot.heartbeat_timeout_s, instances=instances)

    @route.post("/registry/epoch", dependencies=[require_admin, requires_control_plane], openapi_extra=CHANGE)
    async def rotate_epoch(self, response: Response) -> EpochRotated:
        rotation, change = await self.tasks.rotate_epoch(current_stamp())
        acknowledged(response, change)
        return EpochRotated(previous_epoch=rotation.previous_epoch, epoch=rotation.view.epoch)

    @route.get("/control-plane", dependencies=[require_service])
    async def control_plane(self) -> ControlPlaneOut:
        """Every replica (organism and coordinator) with the control-plane version it has applied and its lag."""
        state = await self.tasks.control_plane()
        replicas = [ReplicaOut(**asdict(r)) for r in state.subscribers if r.kind in ACKNOWLEDGING]
        return ControlPlaneOut(version=state.version, replicas=replicas)

    @route.post("/execute", responses=errors(504))
    async def execute(self, request: ExecuteRequest, caller: Caller = require_service) -> ExecuteResponse:
        instance_id, epoch, result = accepted(
            await self.tasks.execute(request.logical_id, request.task.model_dump(), caller_of(caller))
        )
        return ExecuteResponse(logical_id=request.logical_id, instance_id=instance_id, epoch=epoch, result=result)

    @route.get("/health")
    async def health(self) -> Health:
        ensure_control_plane()
        return Health(status="ok", epoch=await self.tasks.registry_epoch())
