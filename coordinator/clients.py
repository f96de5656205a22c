"""The coordinator's one seam to the rest of the cluster.

`OrganismClient` reaches the OrganismManager through its DeploymentHandle
(never HTTP); `RegistryClient` reaches the organism's registry actor (its feed
of changes, its active instances); `OrganClient` reaches an organ actor
directly; `CognitiveClient` asks the planner for a plan. Handles are looked up lazily, so either
application may be deployed after the coordinator, or be missing, without
breaking it. Which of them runs a step is `execution`'s business.
"""

import asyncio
from typing import Any

import ray
from ray import serve
from ray.serve.handle import DeploymentHandle

from contracts.actor_names import organ_actor_name
from contracts.registry_feed import RegistryUpdate, ViewVersion
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


class RegistryClient:
    """The organism's runtime registry actor, found by name: its feed of changes, and
    which instance of a logical id is active. Found again after it restarts."""

    def __init__(self, actor_name: str, namespace: str) -> None:
        self._actor_name = actor_name
        self._namespace = namespace
        self._actor: ray.actor.ActorHandle | None = None

    async def _registry(self) -> ray.actor.ActorHandle:
        if self._actor is None:
            self._actor = await asyncio.to_thread(ray.get_actor, self._actor_name, self._namespace)
        return self._actor

    async def watch(self, known: ViewVersion, timeout_s: float) -> RegistryUpdate:
        try:
            return await (await self._registry()).watch.remote(known, timeout_s)
        except Exception:
            self._actor = None
            raise

    async def active_actor_name(self, logical_id: str) -> str | None:
        instance = await (await self._registry()).active_instance.remote(logical_id)
        return instance.actor_name if instance else None


class OrganClient:
    """Runs a step on an organ actor itself: the active instance the registry names, or
    the first configured one when the registry cannot say."""

    def __init__(self, registry: RegistryClient, namespace: str, execute_timeout_s: float) -> None:
        self._registry = registry
        self._namespace = namespace
        self._execute_timeout_s = execute_timeout_s

    async def execute(self, logical_id: str, task: TaskSpec) -> dict[str, Any]:
        try:
            actor_name = await asyncio.wait_for(self._registry.active_actor_name(logical_id), self._execute_timeout_s)
        except Exception:
            actor_name = None
        organ = await asyncio.to_thread(ray.get_actor, actor_name or organ_actor_name(logical_id, 0), self._namespace)
        return await asyncio.wait_for(organ.execute.remote(task.model_dump(), forwarded_caller()), self._execute_timeout_s)


class CognitiveClient:
    def __init__(self, app_name: str, timeout_s: float) -> None:
        self.app = AppHandle(app_name)
        self._timeout_s = timeout_s

    async def plan(self, task: TaskSpec) -> Plan:
        handle = await self.app.get()
        return await asyncio.wait_for(handle.plan_task.remote(PlanRequest(task=task), forwarded_caller()), self._timeout_s)
