"""Run a routed step: on the organism, or on the organ itself when the organism can't. Pure.

The organ runs a step directly only when the organism could not take it
(its circuit is open, it is gone, it failed, it has no active instance). A
timeout is not retried elsewhere: the organism may have run the step
already, and running it twice is worse. A step that could not run is an
outcome with an error (its exception's type only: a Ray error's text
carries remote tracebacks), never an exception.
"""

from collections.abc import Callable
from typing import Any, Protocol

from contracts.wire import TaskSpec
from coordinator.models import StepOutcome
from coordinator.route_types import StepRoute
from servekit.context import replica_logger

logger = replica_logger(__name__)


class StepRunner(Protocol):
    async def execute(self, logical_id: str, task: TaskSpec) -> dict[str, Any]: ...


class StepExecutor:
    def __init__(self, organism: StepRunner, organs: StepRunner, organism_reachable: Callable[[], bool]) -> None:
        self._organism = organism
        self._organs = organs
        self._organism_reachable = organism_reachable

    async def run(self, task: TaskSpec, route: StepRoute) -> StepOutcome:
        outcome = StepOutcome(
            type=task.type,
            domain=task.domain,
            logical_id=route.logical_id,
            route_source=route.route_source.value,
            resolved_from=route.resolved_from,
            status=route.status,
        )
        try:
            result, via = await self._execute(route.logical_id, task)
        except Exception as error:
            logger.warning("step %s on %s failed: %r", task.type, route.logical_id, error)
            return outcome.model_copy(update={"error": f"step could not run: {type(error).__name__}"})
        return outcome.model_copy(update={"result": result, "executed_via": via})

    async def _execute(self, logical_id: str, task: TaskSpec) -> tuple[dict[str, Any], str]:
        if self._organism_reachable():
            try:
                return await self._organism.execute(logical_id, task), "organism"
            except TimeoutError:
                raise
            except Exception:
                pass  # the organism could not run it: try the organ itself
        return await self._organs.execute(logical_id, task), "organ"
