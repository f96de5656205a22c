"""A stand-in OrganismManager whose answers, latency and failures tests script.

It speaks the organism's handle API with the organism's models and counts
every call, so coordinator tests can make the organism slow, failing or
answer any per-type status, and check how many remote calls were made.
"""

import asyncio
from typing import Any

from ray import serve

from service_common.wire import (
    BulkRouteResult,
    ExecuteRequest,
    ExecuteResponse,
    ResolveRouteRequest,
    ResolveRoutesRequest,
    ResolveRoutesResponse,
    RouteResult,
)


@serve.deployment(name="OrganismManager", max_ongoing_requests=1000, ray_actor_options={"num_cpus": 0})
class ScriptedOrganism:
    def __init__(self) -> None:
        self.configure()

    def configure(self, delay_s: float = 0.0, fail: bool = False, epoch: str = "e1",
                  status: dict[str, str] | None = None, execute_delay_s: float = 0.0) -> None:
        self._delay_s = delay_s
        self._fail = fail
        self._epoch = epoch
        self._status = status or {}
        self._execute_delay_s = execute_delay_s
        self._calls = {"single": 0, "bulk": 0, "bulk_items": 0, "execute": 0}
        self._callers: list[str | None] = []

    def calls(self) -> dict[str, int]:
        return dict(self._calls)

    def forwarding_services(self) -> list[str | None]:
        """Who forwarded each execute call (the `via` of the caller passed along)."""
        return list(self._callers)

    def _answer(self, task_type: str) -> dict[str, Any]:
        status = self._status.get(task_type, "ok")
        failed = status == "error"
        return {
            "logical_id": None if failed else f"organ_for_{task_type}",
            "resolved_from": None if failed else "task",
            "status": status,
            "epoch": self._epoch,
            "instance_id": f"instance_for_{task_type}" if status == "ok" else None,
        }

    async def _behave(self) -> None:
        await asyncio.sleep(self._delay_s)
        if self._fail:
            raise ConnectionError("scripted organism failure")

    async def resolve_route(self, request: ResolveRouteRequest, caller: object = None) -> RouteResult:
        self._calls["single"] += 1
        await self._behave()
        return RouteResult(**self._answer(request.task.type))

    async def resolve_routes(self, request: ResolveRoutesRequest, caller: object = None) -> ResolveRoutesResponse:
        self._calls["bulk"] += 1
        self._calls["bulk_items"] += len(request.tasks)
        await self._behave()
        results = [BulkRouteResult(key=t.key, **self._answer(t.type)) for t in request.tasks]
        return ResolveRoutesResponse(epoch=self._epoch, results=results)

    async def execute(self, request: ExecuteRequest, caller: object = None) -> ExecuteResponse:
        self._callers.append(getattr(caller, "via", None))
        self._calls["execute"] += 1
        await asyncio.sleep(self._execute_delay_s)
        return ExecuteResponse(
            logical_id=request.logical_id,
            instance_id="scripted",
            epoch=self._epoch,
            result={"executed_by": request.logical_id, "task_type": request.task.type},
        )
