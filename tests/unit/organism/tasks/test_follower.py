"""A replica's copy of the registry view: which views it takes, when it clears its cache."""

import asyncio

import pytest

from contracts.routing_table import Rule
from organism.tasks.follower import RegistryFollower
from organism.tasks.registry_view import RegistryView, ViewVersion


def view(boot: str = "b1", generation: int = 1, epoch: str = "epoch-000001", refresh: int = 0, rules=()) -> RegistryView:
    return RegistryView(ViewVersion(boot, generation), epoch, tuple(rules), refresh)


class Clears:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> int:
        self.count += 1
        return 0


@pytest.mark.parametrize(
    "case, incoming, taken, cleared",
    [
        ("a newer generation is taken", view(generation=2, epoch="epoch-000002"), True, False),
        ("an older generation that crossed a newer one is ignored", view(generation=0, epoch="epoch-000000"), False, False),
        ("the same view is taken again, harmlessly", view(), True, False),
        ("a refresh clears the cache", view(generation=2, refresh=1), True, True),
        ("a restarted registry (new boot) is taken even at generation 0 and clears", view(boot="b2", generation=0), True, True),
    ],
)
def test_apply(case, incoming, taken, cleared):
    clears = Clears()
    follower = RegistryFollower(view(), clears)
    assert follower.apply(incoming) is taken
    assert follower.view == (incoming if taken else view())
    assert (clears.count == 1) is cleared


def test_rules_of_the_view_become_the_table():
    follower = RegistryFollower(view(rules=[Rule("odd", None, "graph_dispatcher")]), Clears())
    assert follower.table.match("odd", None).logical_id == "graph_dispatcher"
    follower.apply(view(generation=2, rules=[]))
    assert follower.table.match("odd", None).resolved_from == "fallback"


async def test_follow_keeps_polling_and_survives_a_failing_registry():
    answers: list = [ConnectionError("registry restarting"), view(generation=2), view(generation=3)]
    asked: list[ViewVersion] = []

    async def watch(version: ViewVersion, timeout_s: float) -> RegistryView:
        asked.append(version)
        if not answers:
            await asyncio.Event().wait()
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    follower = RegistryFollower(view(), Clears())
    task = asyncio.create_task(follower.follow(watch, 1.0))
    while answers:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.01)
    task.cancel()
    assert follower.view.version.generation == 3
    assert asked == [ViewVersion("b1", 1), ViewVersion("b1", 1), ViewVersion("b1", 2), ViewVersion("b1", 3)]
