"""Who follows the feed and what each has applied: late replicas, lag, who counts."""

import asyncio

from contracts.registry_feed import Subscriber
from organism.tasks.subscribers import LIVE_S, Subscribers
from servekit.clock import FakeClock


def test_late_names_the_live_replicas_below_a_version_and_never_organs():
    clock = FakeClock()
    table = Subscribers(clock)
    table.seen(Subscriber("organism/a", "organism", 5), 5)
    table.seen(Subscriber("coordinator/b", "coordinator", 4), 5)
    table.seen(Subscriber("organ-1", "organ", 1), 5)
    assert table.late(5) == ["coordinator/b"]
    assert table.late(6) == ["coordinator/b", "organism/a"]
    clock.advance(LIVE_S + 0.1)  # silent for longer than a replica ever is: gone, so not waited for
    assert table.late(6) == []


def test_reports_say_how_far_and_how_long_each_is_behind():
    clock = FakeClock()
    table = Subscribers(clock)
    table.seen(Subscriber("organism/a", "organism", 5), 5)
    table.advanced(6)
    clock.advance(2.0)
    table.seen(Subscriber("coordinator/b", "coordinator", 6), 6)
    reports = {r.name: r for r in table.reports(6)}
    assert (reports["organism/a"].lag_versions, reports["organism/a"].lag_s) == (1, 2.0)
    assert (reports["coordinator/b"].lag_versions, reports["coordinator/b"].lag_s) == (0, 0.0)
    table.seen(Subscriber("organism/a", "organism", 6), 6)  # caught up
    assert {r.name: r.lag_s for r in table.reports(6)}["organism/a"] == 0.0


def test_the_highest_applied_version_is_what_a_restored_registry_must_stay_above():
    table = Subscribers(FakeClock())
    table.seen(Subscriber("organism/a", "organism", 9), 3)
    table.seen(Subscriber("coordinator/b", "coordinator", 7), 3)
    assert table.highest_applied() == 9


async def test_a_write_names_a_replica_that_falls_silent_without_applying_it():
    clock = FakeClock()
    table = Subscribers(clock)
    table.seen(Subscriber("organism/held", "organism", 1), 1)
    table.seen(Subscriber("organism/fine", "organism", 1), 1)
    waiting = asyncio.create_task(table.wait_applied(2, 10.0, not_before=0.0))
    await asyncio.sleep(0.01)
    table.seen(Subscriber("organism/fine", "organism", 2), 2)
    clock.advance(LIVE_S + 0.5)  # the held one's lease is surely over: no need to wait for it, but it is named
    table.seen(Subscriber("organism/fine", "organism", 2), 2)
    assert await asyncio.wait_for(waiting, 1.0) == ["organism/held"]
