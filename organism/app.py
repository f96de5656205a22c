"""OrganismManager: the dispatcher's Serve deployment, composed of its two wings.

The constructor finds the wings' actors and builds each wing: task routing
(`TaskRouting`, its routes `TaskApi`), job routing (`PickerClient`, its
routes `JobApi`) and the audit trail that reads both (`AuditApi`); the
operator console's page and assets (`ConsoleApi`) hold nothing. Serve
then asks it for its app (`__serve_build_asgi_app__`), which `organism_app`
builds from those wings: nothing is inherited, nothing pickled by value.
The methods below the app are what other deployments call through a
DeploymentHandle, with the same models as the HTTP routes.
"""

import asyncio
from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application

from contracts.identity import Caller
from contracts.refusals import Unavailable
from contracts.wire import (
    ExecuteRequest,
    ExecuteResponse,
    JobRouteRequest,
    JobRouteResponse,
    ResolveRouteRequest,
    ResolveRoutesRequest,
    ResolveRoutesResponse,
    RouteResult,
)
from organism.api import on_unavailable
from organism.audit.api import AuditApi
from organism.audit.local_trail import LocalTrail
from organism.console.api import ConsoleApi
from organism.jobs.api import TAGS as JOB_TAGS
from organism.jobs.api import JobApi
from organism.jobs.picker_actor import connect_picker
from organism.jobs.picker_client import PickerClient
from organism.metrics import OrganismMetrics
from organism.settings import OrganismSettings
from organism.tasks.actors import start_task_actors
from organism.tasks.api import TAGS as TASK_TAGS
from organism.tasks.api import TaskApi
from organism.tasks.routing import TaskRouting
from servekit.actors import with_timeout
from servekit.auth import configure_replica
from servekit.control_plane import watch_control_plane
from servekit.control_version import track
from servekit.ingress import conventional_app
from servekit.middleware import replica_id
from servekit.routes import router_of

TITLE = "OrganismManager"
SUMMARY = "Task routing (rules, registry, organs) and job routing (miners)"


def organism_app(tasks: TaskApi, jobs: JobApi, audit: AuditApi) -> FastAPI:
    """The organism's HTTP app, from its wings' routes."""
    app = conventional_app(TITLE, SUMMARY, versioned=True)
    app.include_router(router_of(tasks, tags=TASK_TAGS))
    app.include_router(router_of(jobs, tags=JOB_TAGS))
    app.include_router(router_of(audit))
    app.include_router(router_of(ConsoleApi()))  # the operator console: a page, no data
    app.add_exception_handler(Unavailable, on_unavailable)
    return app


@serve.deployment(
    name="OrganismManager",
    num_replicas=2,
    max_ongoing_requests=200,
    ray_actor_options={"num_cpus": 0.1},
)
@serve.ingress()
class OrganismManager:
    async def __init__(self, settings: OrganismSettings) -> None:
        configure_replica()
        watch_control_plane()
        metrics = OrganismMetrics()
        picker, (registry, organ) = await asyncio.gather(connect_picker(settings), start_task_actors(settings))
        self._routing = TaskRouting(registry, organ, set(settings.organs), metrics, settings.instance_cache_ttl_s,
                                    name=f"organism/{replica_id()}")
        await self._routing.start()  # at the control plane's current version before it takes traffic
        track(self._routing.control.follower)
        self._tasks = TaskApi(self._routing)
        self._jobs = JobApi(PickerClient(picker, metrics), self._routing.control)
        trails = [LocalTrail(component, settings.namespace, settings.state_path) for component in ("registry", "jobs")]
        self._audit = AuditApi(self._routing, picker, *trails)

    def __serve_build_asgi_app__(self) -> FastAPI:
        return organism_app(self._tasks, self._jobs, self._audit)

    def __del__(self) -> None:
        if (routing := getattr(self, "_routing", None)) is not None:
            routing.stop()

    # --- what other deployments call through a handle ------------------------------------
    async def resolve_route(self, request: ResolveRouteRequest, caller: Caller | None = None) -> RouteResult:
        return await self._tasks.resolve_route(request, caller)

    async def resolve_routes(self, request: ResolveRoutesRequest, caller: Caller | None = None) -> ResolveRoutesResponse:
        return await self._tasks.resolve_routes(request, caller)

    async def execute(self, request: ExecuteRequest, caller: Caller | None = None) -> ExecuteResponse:
        return await self._tasks.execute(request, caller)

    async def route_job(self, request: JobRouteRequest, dry_run: bool = False) -> JobRouteResponse:
        return await self._jobs.route_job(request, dry_run)

    # --- fault injection, for chaos drills (a handle call, never HTTP) ------------------------
    def hold_control_plane(self, seconds: float, cut: bool = False) -> str:
        """This replica stops hearing from the registry for `seconds` (`cut`: cannot reach it at all); its name."""
        return self._routing.hold(seconds, cut)

    async def hold_picker(self, seconds: float) -> None:
        """The miner picker is busy for `seconds`: calls queue behind it (a slow database)."""
        await with_timeout(self._jobs.picker, seconds + 5.0).hold(seconds)


def build_app(args: dict[str, Any]) -> Application:
    """Serve application builder: `import_path: organism.app:build_app`."""
    return OrganismManager.bind(OrganismSettings(**args))
