"""Following the registry's feed: which updates a subscriber takes, and what it is told changed."""

import asyncio

import pytest

from contracts.refusals import RegistryUnavailable, StaleReplica
from contracts.registry_feed import (
    Change,
    InstanceChange,
    RegistryFollower,
    RegistryUpdate,
    RegistryView,
    Subscriber,
    ViewVersion,
)
from contracts.routing_table import Rule
from servekit.clock import FakeClock

RULE = Rule("odd", None, "graph_dispatcher")


def view(boot: str = "b1", generation: int = 1, epoch: str = "epoch-000001", refresh: int = 0, rules=(),
         version: int = 1) -> RegistryView:
    return RegistryView(ViewVersion(boot, generation), epoch, tuple(rules), refresh, version)


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
        ("a control-plane version that went back (a restored registry) drops everything",
         RegistryUpdate(view(boot="b2", generation=5, version=0)), Change(refreshed=True)),
        ("a version ahead with nothing else changed tells nothing", RegistryUpdate(view(generation=2, version=7)),
         Change()),
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

    async def watch(version: ViewVersion, timeout_s: float, subscriber: Subscriber) -> RegistryUpdate:
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


def test_the_lease_holds_from_the_last_answered_call_it_sent():
    clock = FakeClock()
    follower = RegistryFollower(view(), lambda change: None, "r1", "organism", clock=clock, lease_s=5.0)
    assert not follower.fresh  # nothing answered yet
    follower.renew(clock())
    clock.advance(4.9)
    assert follower.fresh
    clock.advance(0.2)
    assert not follower.fresh
    follower.renew(clock() - 10)  # an answer to a call sent long ago does not shorten or revive it
    assert not follower.fresh


async def test_past_its_lease_a_follower_takes_the_registrys_view_before_answering():
    clock = FakeClock()
    told: list[Change] = []
    follower = RegistryFollower(view(), told.append, "r1", "organism", clock=clock, lease_s=5.0)
    fetched: list[int] = []

    async def fetch() -> RegistryView:
        fetched.append(1)
        return view(generation=4, rules=[RULE], version=3)

    follower.renew(clock())
    await follower.ensure_fresh(fetch)
    assert fetched == []  # within the lease: nothing to do
    clock.advance(6)
    await follower.ensure_fresh(fetch)
    assert (fetched, follower.applied, follower.fresh) == ([1], 3, True)
    assert told == [Change(rules=True, refreshed=True)]  # a resync: everything cached goes


async def test_past_its_lease_with_the_registry_gone_a_follower_says_so():
    follower = RegistryFollower(view(), lambda change: None, "r1", "organism", clock=FakeClock(), lease_s=5.0)

    async def fetch() -> RegistryView:
        raise RegistryUnavailable("gone")

    with pytest.raises(RegistryUnavailable):
        await follower.ensure_fresh(fetch)


async def test_a_caller_naming_a_version_waits_for_it_or_is_refused():
    follower = RegistryFollower(view(version=4), lambda change: None, "r1", "organism")
    await follower.at_least(4)  # applied already
    later = asyncio.create_task(follower.at_least(5))
    await asyncio.sleep(0.01)
    follower.apply(RegistryUpdate(view(generation=2, version=5)))
    await later
    with pytest.raises(StaleReplica, match="r1 has applied control-plane version 5, not yet 9"):
        await follower.at_least(9)


async def test_a_version_far_ahead_is_refused_without_waiting():
    clock = FakeClock()
    follower = RegistryFollower(view(version=4), lambda change: None, "r1", "organism", clock=clock)
    with pytest.raises(StaleReplica):
        await asyncio.wait_for(follower.at_least(4 + 17), 0.1)  # no wait: it would time out above


async def test_each_watch_acknowledges_the_version_applied_and_renews_the_lease():
    clock = FakeClock()
    follower = RegistryFollower(view(version=2), lambda change: None, "org/1", "organism", clock=clock, lease_s=5.0)
    seen: list[Subscriber] = []

    async def watch(version: ViewVersion, timeout_s: float, subscriber: Subscriber) -> RegistryUpdate:
        seen.append(subscriber)
        if len(seen) == 1:
            return RegistryUpdate(view(generation=2, version=3))
        await asyncio.Event().wait()

    task = asyncio.create_task(follower.follow(watch, 1.0))
    while len(seen) < 2:
        await asyncio.sleep(0.01)
    task.cancel()
    assert seen == [Subscriber("org/1", "organism", 2), Subscriber("org/1", "organism", 3)]
    assert follower.fresh
