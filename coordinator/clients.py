"""The coordinator's one seam to the rest of the cluster.

`OrganismClient` reaches the OrganismManager through its DeploymentHandle
(never HTTP); `OrganClient` reaches an organ actor directly; `CognitiveClient`
asks the planner for a plan. Handles are looked up lazily, so either
application may be deployed after the coordinator, or be missing, without
breaking it. Which of them runs a step is `execution`'s business.
"""

import asyncio
from typing import Any

import ray
from ray import serve
from ray.serve.handle import DeploymentHandle

from contracts.actor_names import organ_actor_name
from contracts.wire import (
    ExecuteRequest,
    Plan,
    PlanRequest,
    ResolveRouteRequest,
    ResolveRoutesRequest,
    ResolveRoutesResponse,
    RouteResult,
    TaskSpec,
)
from servekit.auth import caller_of
from servekit.context import current_caller, current_correlation_id
from servekit.identity import Caller


def forwarded_caller() -> Caller:
    """The identity of the request being served, marked as forwarded by the coordinator."""
    return caller_of(current_caller.get()).forwarded_by("coordinator", current_correlation_id())


class AppHandle:
    """A DeploymentHandle to an application, found on first use."""

    def __init__(self, app_name: str) -> None:
        self._app_name = app_name
        self._lookup: asyncio.Future[DeploymentHandle] | None = None

    async def warm(self) -> None:
        """Look the handle up ahead of the first request; a missing app is not an error yet."""
        try:
            await self.get()
        except Exception:
            pass

    async def get(self) -> DeploymentHandle:
        if self._lookup is None or (self._lookup.done() and self._lookup.exception() is not None):
            # A blocking controller round trip, off the event loop; shielded below so a
            # caller's time budget running out does not throw the answer away.
            self._lookup = asyncio.ensure_future(asyncio.to_thread(serve.get_app_handle, self._app_name))
        return await asyncio.shield(self._lookup)


class OrganismClient:
    def __init__(self, app_name: str, execute_timeout_s: float) -> None:
        self.app = AppHandle(app_name)
        self._execute_timeout_s = execute_timeout_s

    async def resolve_route(self, request: ResolveRouteRequest) -> RouteResult:
        return await (await self.app.get()).resolve_route.remote(request, forwarded_caller())

    async def resolve_routes(self, request: ResolveRoutesRequest) -> ResolveRoutesResponse:
        return await (await self.app.get()).resolve_routes.remote(request, forwarded_caller())

    async def execute(self, logical_id: str, task: TaskSpec) -> dict[str, Any]:
        handle = await self.app.get()
        request = ExecuteRequest(logical_id=logical_id, task=task)
        response = await asyncio.wait_for(handle.execute.remote(request, forwarded_caller()), self._execute_timeout_s)
        return response.result


class OrganClient:
    """Runs a step on an organ actor itself, by its well-known name."""

    def __init__(self, namespace: str, execute_timeout_s: float) -> None:
        self._namespace = namespace
        self._execute_timeout_s = execute_timeout_s

    async def execute(self, logical_id: str, task: TaskSpec) -> dict[str, Any]:
        organ = await asyncio.to_thread(ray.get_actor, organ_actor_name(logical_id, 0), self._namespace)
        return await asyncio.wait_for(organ.execute.remote(task.model_dump()), self._execute_timeout_s)


class CognitiveClient:
    def __init__(self, app_name: str, timeout_s: float) -> None:
        self.app = AppHandle(app_name)
        self._timeout_s = timeout_s

    async def plan(self, task: TaskSpec) -> Plan:
        handle = await self.app.get()
        return await asyncio.wait_for(handle.plan_task.remote(PlanRequest(task=task), forwarded_caller()), self._timeout_s)
