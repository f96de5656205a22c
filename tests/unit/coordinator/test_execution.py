"""Where a routed step runs: the organism, the organ itself, or nowhere (an outcome with an error)."""


import pytest

from contracts.wire import TaskSpec
from coordinator.execution import StepExecutor
from coordinator.route_types import RouteSource, StepRoute

ROUTE = StepRoute("graph_dispatcher", RouteSource.REMOTE, "task", "ok", "e1")


class Runner:
    def __init__(self, name: str, failure: Exception | None = None) -> None:
        self.name = name
        self.failure = failure
        self.ran: list[str] = []

    async def execute(self, logical_id: str, task: TaskSpec) -> dict:
        self.ran.append(logical_id)
        if self.failure is not None:
            raise self.failure
        return {"by": self.name}


@pytest.mark.parametrize(
    "case, reachable, organism_failure, organ_failure, via, error, organ_ran",
    [
        ("the organism runs it", True, None, None, "organism", None, False),
        ("the organism fails: the organ runs it", True, ConnectionError("gone"), None, "organ", None, True),
        ("the circuit is open: straight to the organ", False, None, None, "organ", None, True),
        ("a timeout is never run twice", True, TimeoutError(), None, None, "step could not run: TimeoutError", False),
        ("both fail: an error, not an exception", True, ConnectionError("gone"), ValueError("no actor"), None,
         "step could not run: ValueError", True),
    ],
)
async def test_where_a_step_runs(case, reachable, organism_failure, organ_failure, via, error, organ_ran):
    organism, organ = Runner("organism", organism_failure), Runner("organ", organ_failure)
    outcome = await StepExecutor(organism, organ, lambda: reachable).run(TaskSpec(type=" Graph_Embed "), ROUTE)
    assert (outcome.executed_via, outcome.error) == (via, error)
    assert bool(organ.ran) is organ_ran
    assert (outcome.type, outcome.logical_id, outcome.route_source) == ("graph_embed", "graph_dispatcher", "remote")
    assert outcome.result == ({"by": via} if via else None)
