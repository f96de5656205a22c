"""Miner incidents: the window, the automatic blacklist, the demotion in the ranking, and where they show."""

import pytest

from contracts.dynamic_config import DynamicConfig
from contracts.jobs import BlacklistEntry, Incident
from organism.jobs import lifecycle
from organism.jobs.incidents import auto_blacklist, next_lapse, recent
from organism.jobs.views import miner_status

from .scenario import BLOCK, NOW, job, make_book, refused, reserve, run, selected

CONFIG = DynamicConfig(DYNAMIC_INCIDENT_WINDOW_SECONDS=100, DYNAMIC_INCIDENTS_TO_BLACKLIST=3,
                       DYNAMIC_INCIDENT_BLACKLIST_SECONDS=50)


def incidents(*ages: float) -> list[Incident]:
    return [Incident("declined", "a", f"job-{n}", NOW - age) for n, age in enumerate(sorted(ages, reverse=True))]


@pytest.mark.parametrize(
    "ages, recent_count, lapse",
    [
        ((), 0, None),
        ((150, 99, 10), 2, NOW + 1),  # 150 s ago is outside the 100 s window; 99 s ago leaves it in 1 s
        ((100,), 0, None),  # exactly at the window's edge: out
    ],
)
def test_recent_incidents_and_when_the_oldest_leaves_the_window(ages, recent_count, lapse):
    assert len(recent(incidents(*ages), CONFIG, NOW)) == recent_count
    assert next_lapse(incidents(*ages), CONFIG, NOW) == lapse


@pytest.mark.parametrize(
    "case, ages, current, config, blacklisted_until",
    [
        ("three inside the window", (50, 20, 1), None, CONFIG, NOW + 50),
        ("two inside, one too old", (150, 20, 1), None, CONFIG, None),
        ("an active entry is never replaced", (50, 20, 1), BlacklistEntry("a", "ops", NOW - 1, NOW + 10), CONFIG, None),
        ("a lapsed entry is", (50, 20, 1), BlacklistEntry("a", "ops", NOW - 9, NOW - 1), CONFIG, NOW + 50),
        ("threshold 0: never", (50, 20, 1), None, CONFIG.model_copy(update={"DYNAMIC_INCIDENTS_TO_BLACKLIST": 0}), None),
    ],
)
def test_auto_blacklist(case, ages, current, config, blacklisted_until):
    entry = auto_blacklist(incidents(*ages), config, NOW, current)
    assert (entry and entry.expires_at) == blacklisted_until
    if entry:
        assert (entry.hotkey, entry.reason) == ("a", "auto: 3 incidents in 100 s")


def decline(book, uuid: str, at: float) -> None:
    reserve(book, run(book, job(uuid), now=at), uuid, now=at)
    lifecycle.release(book, uuid, "declined", at)


def test_the_third_decline_in_the_window_blacklists_the_miner_for_the_configured_time():
    book = make_book({"hotkey": "a", "online": 5}, **CONFIG.model_dump(include={
        "DYNAMIC_INCIDENT_WINDOW_SECONDS", "DYNAMIC_INCIDENTS_TO_BLACKLIST", "DYNAMIC_INCIDENT_BLACKLIST_SECONDS"}))
    for n in range(3):
        decline(book, f"job-{n}", NOW + n)
    status = miner_status(book, "a", NOW + 3, BLOCK)
    assert status.blacklist.reason == "auto: 3 incidents in 100 s" and status.recent_incidents == 3
    assert [i.kind for i in status.incidents] == ["declined"] * 3
    outcome = run(book, job("next"), now=NOW + 3)
    assert refused(outcome) == "NoMinerForExecutorType"
    assert outcome.explain.reasons["a"] == "not_blacklisted: blacklisted (auto: 3 incidents in 100 s)"
    assert selected(run(book, job("next"), now=NOW + 2 + 51)) == "a"  # the entry lapsed


def test_a_cancelled_release_is_no_incident_and_one_job_counts_once():
    book = make_book({"hotkey": "a", "online": 5})
    reserve(book, run(book, job("j")), "j")
    lifecycle.release(book, "j", "cancelled", NOW)
    assert book.incidents == {}
    reserve(book, run(book, job("k")), "k")
    for kind in ("declined", "failed"):  # a retried or contradictory report of the same job
        lifecycle.receipt(book, kind, "k", "a", "always_on.test", NOW, None, NOW, BLOCK)
    assert len(book.incidents["a"]) == 1


@pytest.mark.parametrize("demote, first", [(True, "b"), (False, "a")])
def test_recent_incidents_demote_a_miner_in_the_ranking(demote, first):
    book = make_book({"hotkey": "a", "online": 5, "remaining": 1000.0}, {"hotkey": "b", "online": 5, "remaining": 500.0},
                     DYNAMIC_DEMOTE_MINERS_WITH_INCIDENTS=demote)
    decline(book, "bad", NOW)
    outcome = run(book, job("next"), now=NOW + 1)
    assert selected(outcome) == first
    assert outcome.explain.scores["a"]["fewer_recent_incidents"] == (0.2 if demote else 0.0)  # 1 incident / 5 online
