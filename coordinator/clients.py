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
from contracts.identity import Caller
from contracts.organ import Organ
from contracts.refusals import OrganTimeout, OrganUnavailable, RegistryUnavailable
from contracts.registry import RegistryReader
from contracts.registry_feed import RegistryUpdate, RegistryView, Subscriber, ViewVersion
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
from servekit.actors import actor_client
from servekit.auth import caller_of
from servekit.context import current_caller, current_correlation_id


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
    """The organism's runtime registry, found by name (again after it restarts), as the part of
    its contract the coordinator reads: the feed of changes and the active instances."""

    def __init__(self, actor_name: str, namespace: str, timeout_s: float) -> None:
        self.registry: RegistryReader = actor_client(
            lambda: ray.get_actor(actor_name, namespace), RegistryReader, timeout_s, RegistryUnavailable,
            "the runtime registry",
        )

    async def watch(self, known: ViewVersion, timeout_s: float, subscriber: Subscriber) -> RegistryUpdate:
        return await self.registry.watch(known, timeout_s, subscriber)

    async def view(self) -> RegistryView:
        return await self.registry.view()

    async def active_actor_name(self, logical_id: str) -> str | None:
        instance = await self.registry.active_instance(logical_id)
        return instance.actor_name if instance else None


class OrganClient:
    """Runs a step on an organ actor itself: the active instance the registry names, or
    the first configured one when the registry cannot say."""

    def __init__(self, registry: RegistryClient, namespace: str, execute_timeout_s: float) -> None:
        self._registry = registry
        self._namespace = namespace
        self._execute_timeout_s = execute_timeout_s
        self._organs: dict[str, Organ] = {}

    def _organ(self, actor_name: str) -> Organ:
        if actor_name not in self._organs:
            self._organs[actor_name] = actor_client(
                lambda: ray.get_actor(actor_name, self._namespace), Organ, self._execute_timeout_s, OrganUnavailable,
                f"organ {actor_name}", timeout_fault=OrganTimeout,
            )
        return self._organs[actor_name]

    async def execute(self, logical_id: str, task: TaskSpec) -> dict[str, Any]:
        try:
            actor_name = await asyncio.wait_for(self._registry.active_actor_name(logical_id), self._execute_timeout_s)
        except Exception:
            actor_name = None
        return await self.execute_on(actor_name or organ_actor_name(logical_id, 0), task)

    async def execute_on(self, actor_name: str, task: TaskSpec) -> dict[str, Any]:
        """Run the step on that organ actor, as the caller."""
        return await self._organ(actor_name).execute(task.model_dump(), forwarded_caller())


class CognitiveClient:
    def __init__(self, app_name: str, timeout_s: float) -> None:
        self.app = AppHandle(app_name)
        self._timeout_s = timeout_s

    async def plan(self, task: TaskSpec) -> Plan:
        handle = await self.app.get()
        return await asyncio.wait_for(handle.plan_task.remote(PlanRequest(task=task), forwarded_caller()), self._timeout_s)
