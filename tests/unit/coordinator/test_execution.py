"""Where a routed step runs: the instance the coordinator knows, the organism, the organ itself, or nowhere
(an outcome with an error)."""


import asyncio

import pytest

from contracts.refusals import OrganTimeout, OrganUnavailable
from contracts.wire import TaskSpec
from coordinator.execution import StepExecutor
from coordinator.instances import KnownInstances
from coordinator.route_types import RouteSource, StepRoute

ROUTE = StepRoute("graph_dispatcher", RouteSource.REMOTE, "task", "ok", "e1")


class Runner:
    def __init__(self, name: str, failure: Exception | None = None, instance_failure: Exception | None = None) -> None:
        self.name = name
        self.failure, self.instance_failure = failure, instance_failure
        self.ran: list[str] = []

    async def execute(self, logical_id: str, task: TaskSpec) -> dict:
        self.ran.append(logical_id)
        if self.failure is not None:
            raise self.failure
        return {"by": self.name}

    async def execute_on(self, actor_name: str, task: TaskSpec) -> dict:
        self.ran.append(actor_name)
        if self.instance_failure is not None:
            raise self.instance_failure
        return {"by": "instance"}


async def known(actor_name: str | None) -> KnownInstances:
    """Instances that know `actor_name` for every logical id (None: nothing known)."""
    async def lookup(logical_id: str) -> str | None:
        return actor_name

    instances = KnownInstances(lookup, trusted=lambda: True)
    instances.actor_name(ROUTE.logical_id)  # the background lookup begins
    for _ in range(3):
        await asyncio.sleep(0)
    return instances


@pytest.mark.parametrize(
    "case, known_actor, reachable, organism_failure, organ_failure, instance_failure, via, error, organ_ran",
    [
        ("the organism runs it", None, True, None, None, None, "organism", None, []),
        ("the organism fails: the organ runs it", None, True, ConnectionError("gone"), None, None, "organ", None,
         ["graph_dispatcher"]),
        ("the circuit is open: straight to the organ", None, False, None, None, None, "organ", None,
         ["graph_dispatcher"]),
        ("a timeout is never run twice", None, True, TimeoutError(), None, None, None,
         "step could not run: TimeoutError", []),
        ("both fail: an error, not an exception", None, True, ConnectionError("gone"), ValueError("no actor"), None,
         None, "step could not run: ValueError", ["graph_dispatcher"]),
        ("a known instance runs it, one hop fewer", "organ-a", True, None, None, None, "instance", None, ["organ-a"]),
        ("a known instance that is gone: the organism runs it", "organ-a", True, None, None, OrganUnavailable("x"),
         "organism", None, ["organ-a"]),
        ("a known instance that timed out is not run again", "organ-a", True, None, None, OrganTimeout("slow"), None,
         "step could not run: OrganTimeout", ["organ-a"]),
    ],
)
async def test_where_a_step_runs(case, known_actor, reachable, organism_failure, organ_failure, instance_failure, via,
                                 error, organ_ran):
    organism = Runner("organism", organism_failure)
    organ = Runner("organ", organ_failure, instance_failure)
    instances = await known(known_actor)
    outcome = await StepExecutor(organism, organ, lambda: reachable, instances).run(TaskSpec(type=" Graph_Embed "), ROUTE)
    assert (outcome.executed_via, outcome.error) == (via, error)
    assert organ.ran == organ_ran
    assert (outcome.type, outcome.logical_id, outcome.route_source) == ("graph_embed", "graph_dispatcher", "remote")
    assert outcome.result == ({"by": via} if via else None)


async def test_an_instance_that_failed_is_forgotten():
    organism, organ = Runner("organism"), Runner("organ", instance_failure=OrganUnavailable("gone"))
    instances = await known("organ-a")
    executor = StepExecutor(organism, organ, lambda: True, instances)
    await executor.run(TaskSpec(type="graph_embed"), ROUTE)
    assert instances.actor_name(ROUTE.logical_id) is None
