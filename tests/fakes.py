"""Test doubles shared by unit and integration tests; each exists once.

`ScriptedOrganism` speaks the organism's handle API (resolve one, resolve
many, execute) with the organism's models; a test scripts its answers per
task type, its delay, failure or hang, and reads back every call it got.
Unit tests hand it to a `Router` directly; integration tests deploy it as
a Serve deployment (`tests.integration.scripted_organism`).

The actors' seams (`contracts.registry`, `.picker`, `.organ`) are faked by
the real actor classes run in process (`servekit.actors.in_process`, with a
scripted delay or outage): `registry()`, `picker()` and `ScriptedOrgan` (an
organ without Ray); `ScriptedDirectory` is the registry's bulk lookup alone,
from a table, counting its calls. `RecordingMetrics` takes any metric and keeps
its points.
"""

import asyncio
from types import SimpleNamespace
from typing import Any

from contracts.registry import ActiveInstance
from contracts.wire import (
    BulkRouteResult,
    ExecuteRequest,
    ExecuteResponse,
    ResolveRouteRequest,
    ResolveRoutesRequest,
    ResolveRoutesResponse,
    RouteResult,
)


def organ_for(task_type: str) -> str:
    return f"organ_for_{task_type}"


class ScriptedOrganism:
    def __init__(self) -> None:
        self.configure()

    def configure(
        self,
        delay_s: float = 0.0,
        fail: bool = False,
        hang: bool = False,
        epoch: str = "e1",
        status: dict[str, str] | None = None,
        execute_delay_s: float = 0.0,
    ) -> None:
        self.delay_s = delay_s
        self.fail = fail
        self.hang = hang
        self.epoch = epoch
        self.status = status or {}  # task type -> a status other than ok
        self.execute_delay_s = execute_delay_s
        self.release = asyncio.Event()  # clear it to hold every answer until it is set again
        self.release.set()
        self.single_calls: list[str] = []
        self.bulk_calls: list[list[str]] = []
        self.executions: list[str | None] = []  # the `via` of each execute call's caller

    def calls(self) -> dict[str, int]:
        return {
            "single": len(self.single_calls),
            "bulk": len(self.bulk_calls),
            "bulk_items": sum(len(items) for items in self.bulk_calls),
            "keys": len(self.single_calls) + sum(len(items) for items in self.bulk_calls),  # asked for, either way
            "execute": len(self.executions),
        }

    def forwarding_services(self) -> list[str | None]:
        return list(self.executions)

    def _answer(self, task_type: str) -> dict[str, Any]:
        status = self.status.get(task_type, "ok")
        failed = status == "error"
        return {
            "logical_id": None if failed else organ_for(task_type),
            "resolved_from": None if failed else "task",
            "status": status,
            "epoch": self.epoch,
            "instance_id": f"instance_for_{task_type}" if status == "ok" else None,
        }

    async def _behave(self) -> None:
        if self.hang:
            await asyncio.Event().wait()
        await self.release.wait()
        await asyncio.sleep(self.delay_s)
        if self.fail:
            raise ConnectionError("scripted organism failure")

    async def resolve_route(self, request: ResolveRouteRequest, caller: object = None) -> RouteResult:
        self.single_calls.append(request.task.type)
        await self._behave()
        return RouteResult(**self._answer(request.task.type))

    async def resolve_routes(self, request: ResolveRoutesRequest, caller: object = None) -> ResolveRoutesResponse:
        self.bulk_calls.append([t.type for t in request.tasks])
        await self._behave()
        results = [BulkRouteResult(key=t.key, **self._answer(t.type)) for t in request.tasks]
        return ResolveRoutesResponse(epoch=self.epoch, results=results)

    async def execute(self, request: ExecuteRequest, caller: object = None) -> ExecuteResponse:
        self.executions.append(getattr(caller, "via", None))
        await asyncio.sleep(self.execute_delay_s)
        return ExecuteResponse(
            logical_id=request.logical_id,
            instance_id="scripted",
            epoch=self.epoch,
            result={"executed_by": request.logical_id, "task_type": request.task.type},
        )


def organism_app_offline() -> Any:
    """The OrganismManager's HTTP app built without Ray, its wings holding nothing: for its OpenAPI."""
    from organism.app import organism_app
    from organism.audit.api import AuditApi
    from organism.jobs.api import JobApi
    from organism.tasks.api import TaskApi

    return organism_app(TaskApi(None), JobApi(SimpleNamespace(picker=None), None), AuditApi(None, None, None, None))


class Recorder:
    """One metric: every point recorded, with its tags."""

    def __init__(self) -> None:
        self.points: list[tuple[float, dict[str, str] | None]] = []

    def inc(self, value: float = 1.0, tags: dict[str, str] | None = None) -> None:
        self.points.append((value, tags))

    observe = set = inc

    def total(self, **tags: str) -> float:
        return sum(value for value, got in self.points if not tags or got == tags)


class RecordingMetrics:
    """Stands in for a deployment's metrics object: any attribute is a `Recorder`."""

    def __getattr__(self, name: str) -> Recorder:
        return self.__dict__.setdefault(name, Recorder())


class ScriptedOrgan:
    """An organ (`contracts.organ.Organ`) without Ray: it answers who ran the step, after `delay_s`."""

    def __init__(self, actor_name: str, delay_s: float = 0.0) -> None:
        self.actor_name, self.delay_s, self.steps = actor_name, delay_s, []

    async def code_version(self) -> str:
        return "scripted"

    async def execute(self, task: dict[str, Any], caller: Any = None) -> dict[str, Any]:
        self.steps.append(task)
        await asyncio.sleep(self.delay_s)
        return {"executed_by": self.actor_name, "task_type": task["type"]}

    async def describe(self) -> dict[str, Any]:
        return {"actor_name": self.actor_name}

    async def drain_and_stop(self) -> None:
        return None


class ScriptedDirectory:
    """The registry's bulk lookup (`Registry.active_instances`) from a table of logical id -> instance id.
    It records the ids of every call; clear `release` to hold answers, set `failure` to raise it instead."""

    def __init__(self, alive: dict[str, str]) -> None:
        self.alive = alive
        self.calls: list[list[str]] = []
        self.failure: Exception | None = None
        self.release = asyncio.Event()
        self.release.set()

    async def active_instances(self, logical_ids: list[str]) -> dict[str, ActiveInstance | None]:
        self.calls.append(list(logical_ids))
        await self.release.wait()
        if self.failure is not None:
            raise self.failure
        return {logical_id: ActiveInstance(instance_id, f"actor-{instance_id}") if (instance_id := self.alive.get(logical_id))
                else None for logical_id in logical_ids}


def registry(known_logical_ids: list[str], heartbeat_timeout_s: float = 15.0) -> Any:
    """The runtime registry's own class on an in-memory store, behind its contract (call in a running loop)."""
    from contracts.refusals import RegistryUnavailable
    from contracts.registry import Registry
    from organism.state.store import InMemoryStore
    from organism.tasks.registry_actor import RuntimeRegistry
    from servekit.actors import InProcess

    actor = RuntimeRegistry("unit", "", heartbeat_timeout_s, known_logical_ids, store=InMemoryStore())
    return InProcess(actor, Registry, RegistryUnavailable)


def picker(netuid: int = 12) -> Any:
    """The miner picker's own class on an in-memory store, behind its contract."""
    from contracts.picker import Picker
    from contracts.refusals import PickerUnavailable
    from organism.jobs.picker_actor import MinerPicker
    from organism.state.store import InMemoryStore
    from servekit.actors import InProcess

    return InProcess(MinerPicker("unit", "", netuid, store=InMemoryStore()), Picker, PickerUnavailable)
