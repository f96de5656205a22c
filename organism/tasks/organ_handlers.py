"""What an organ does with a task step: a table of handlers keyed by task type. Pure.

The table is the extension point: register a coroutine for a task type and
every organ instance runs it for that type. Types without a handler get the
default, which reports which organ and instance ran what.
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class OrganContext:
    logical_id: str
    instance_id: str
    epoch: str


Handler = Callable[[OrganContext, dict[str, Any]], Awaitable[dict[str, Any]]]


async def report_execution(context: OrganContext, task: dict[str, Any]) -> dict[str, Any]:
    return {
        "executed_by": context.logical_id,
        "instance_id": context.instance_id,
        "epoch": context.epoch,
        "task_type": task.get("type"),
        "domain": task.get("domain"),
        "params": task.get("params", {}),
        "finished_at": time.time(),
    }


async def report_health(context: OrganContext, task: dict[str, Any]) -> dict[str, Any]:
    return {"healthy": True, "instance_id": context.instance_id, "epoch": context.epoch}


HANDLERS: dict[str, Handler] = {"health_check": report_health}


def handler_for(task_type: str, handlers: dict[str, Handler] = HANDLERS) -> Handler:
    return handlers.get(task_type, report_execution)
