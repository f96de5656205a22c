"""Following the registry's feed: which updates a subscriber takes, and what it is told changed."""

import asyncio

import pytest

from contracts.registry_feed import Change, InstanceChange, RegistryFollower, RegistryUpdate, RegistryView, ViewVersion
from contracts.routing_table import Rule

RULE = Rule("odd", None, "graph_dispatcher")


def view(boot: str = "b1", generation: int = 1, epoch: str = "epoch-000001", refresh: int = 0, rules=()) -> RegistryView:
    return RegistryView(ViewVersion(boot, generation), epoch, tuple(rules), refresh)


@pytest.mark.parametrize(
    "case, update, change",
    [
        ("an older generation that crossed a newer one is ignored", RegistryUpdate(view(generation=0)), None),
        ("the same view again changes nothing", RegistryUpdate(view()), Change()),
        ("a rotation", RegistryUpdate(view(generation=2, epoch="epoch-000002")), Change(epoch=True)),
        ("a rule change", RegistryUpdate(view(generation=2, rules=[RULE])), Change(rules=True)),
        ("a refresh", RegistryUpdate(view(generation=2, refresh=1)), Change(refreshed=True)),
        ("a restarted registry", RegistryUpdate(view(boot="b2", generation=0)), Change(refreshed=True)),
        ("missed changes", RegistryUpdate(view(generation=9), resync=True), Change(refreshed=True)),
        ("instances of two logical ids", RegistryUpdate(view(generation=3), (
            InstanceChange("graph_dispatcher", "g-1", False), InstanceChange("utility_organ_1", "u-1", True))),
         Change(logical_ids=frozenset({"graph_dispatcher", "utility_organ_1"}))),
    ],
)
def test_apply(case, update, change):
    told: list[Change] = []
    follower = RegistryFollower(view(), told.append)
    assert follower.apply(update) == change
    assert told == ([change] if change and change != Change() else [])
    assert follower.view == (update.view if change is not None else view())


def test_rules_of_the_view_become_the_table():
    follower = RegistryFollower(view(rules=[RULE]), lambda change: None)
    assert follower.table.match("odd", None).logical_id == "graph_dispatcher"
    follower.apply(RegistryUpdate(view(generation=2, rules=[])))
    assert follower.table.match("odd", None).resolved_from == "fallback"


async def test_follow_keeps_watching_and_survives_a_failing_registry():
    answers: list = [ConnectionError("registry restarting"), RegistryUpdate(view(generation=2)),
                     RegistryUpdate(view(generation=3, epoch="epoch-000002"))]
    asked: list[ViewVersion] = []

    async def watch(version: ViewVersion, timeout_s: float) -> RegistryUpdate:
        asked.append(version)
        if not answers:
            await asyncio.Event().wait()
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    follower = RegistryFollower(view(), lambda change: None)
    task = asyncio.create_task(follower.follow(watch, 1.0))
    while answers:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.01)
    task.cancel()
    assert follower.epoch == "epoch-000002"
    assert asked == [ViewVersion("b1", 1), ViewVersion("b1", 1), ViewVersion("b1", 2), ViewVersion("b1", 3)]
