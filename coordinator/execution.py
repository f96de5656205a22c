"""Run a routed step: on the active instance the coordinator knows, else through the organism, else on the organ. Pure.

A step goes straight to the organ actor that is the logical id's active
instance when the coordinator knows it (`instances`: learnt from the
registry, forgotten on its changes): one hop fewer than through the
organism. Until it is known, or when that actor failed, the organism runs
the step (it looks the instance up); the organ runs it directly, found by
name, only when the organism could not take it either (its circuit is open,
it is gone, it failed, it has no active instance). A timeout is not retried
elsewhere: the step may have run already, and running it twice is worse. A step that could not run is an
outcome with an error (its exception's type only: a Ray error's text
carries remote tracebacks), never an exception.
"""

from collections.abc import Callable
from typing import Any, Protocol

from contracts.refusals import OrganTimeout
from contracts.wire import TaskSpec
from coordinator.instances import KnownInstances
from coordinator.models import StepOutcome
from coordinator.route_types import StepRoute
from servekit.context import replica_logger

logger = replica_logger(__name__)


class StepRunner(Protocol):
    async def execute(self, logical_id: str, task: TaskSpec) -> dict[str, Any]: ...


class OrganRunner(StepRunner, Protocol):
    async def execute_on(self, actor_name: str, task: TaskSpec) -> dict[str, Any]: ...


class StepExecutor:
    def __init__(self, organism: StepRunner, organs: OrganRunner, organism_reachable: Callable[[], bool],
                 instances: KnownInstances) -> None:
        self._organism = organism
        self._organs = organs
        self._organism_reachable = organism_reachable
        self._instances = instances

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
        if (actor_name := self._instances.actor_name(logical_id)) is not None:
            try:
                return await self._organs.execute_on(actor_name, task), "instance"
            except (TimeoutError, OrganTimeout):
                raise
            except Exception:
                self._instances.forget([logical_id])  # gone or failing: the organism may know a newer one
        if self._organism_reachable():
            try:
                return await self._organism.execute(logical_id, task), "organism"
            except TimeoutError:
                raise
            except Exception:
                pass  # the organism could not run it: try the organ itself
        return await self._organs.execute(logical_id, task), "organ"
