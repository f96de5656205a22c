"""Test doubles shared by unit and integration tests; each exists once.

`ScriptedOrganism` speaks the organism's handle API (resolve one, resolve
many, execute) with the organism's models; a test scripts its answers per
task type, its delay, failure or hang, and reads back every call it got.
Unit tests hand it to a `Router` directly; integration tests deploy it as
a Serve deployment (`tests.integration.scripted_organism`).
"""

import asyncio
from typing import Any

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
