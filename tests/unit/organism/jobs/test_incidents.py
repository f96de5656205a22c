"""Miner incidents: the window, the automatic blacklist, the demotion in the ranking, and where they show."""

import pytest

from contracts.audit import AuditEntry, AuditStamp
from contracts.dynamic_config import DynamicConfig
from contracts.jobs import BlacklistEntry, Incident
from organism.jobs import lifecycle
from organism.jobs.incidents import auto_blacklist, next_lapse, recent
from organism.jobs.views import miner_status

from .scenario import BLOCK, FEEDER, NOW, OWNER, job, make_book, refused, reserve, run, selected

CONFIG = DynamicConfig(DYNAMIC_INCIDENT_WINDOW_SECONDS=100, DYNAMIC_INCIDENTS_TO_BLACKLIST=3,
                       DYNAMIC_INCIDENT_BLACKLIST_SECONDS=50)


def incidents(*ages: float, callers: tuple[str, ...] = ("v1", "v2")) -> list[Incident]:
    """Incidents of miner `a`, reported in turn by `callers`."""
    return [Incident("declined", "a", f"job-{n}", NOW - age, callers[n % len(callers)])
            for n, age in enumerate(sorted(ages, reverse=True))]


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


ONE_CALLER = ("v1",)


@pytest.mark.parametrize(
    "case, ages, callers, current, config, blacklisted_until",
    [
        ("three inside the window, from two callers", (50, 20, 1), ("v1", "v2"), None, CONFIG, NOW + 50),
        ("two inside, one too old", (150, 20, 1), ("v1", "v2"), None, CONFIG, None),
        ("one caller alone never blacklists", (50, 40, 30, 20, 1), ONE_CALLER, None, CONFIG, None),
        ("one caller counts two, a second one the third", (50, 40, 30), ("v1", "v1", "v2"), None, CONFIG, NOW + 50),
        ("an active entry is never replaced", (50, 20, 1), ("v1", "v2"), BlacklistEntry("a", "ops", NOW - 1, NOW + 10),
         CONFIG, None),
        ("a lapsed entry is", (50, 20, 1), ("v1", "v2"), BlacklistEntry("a", "ops", NOW - 9, NOW - 1), CONFIG, NOW + 50),
        ("threshold 0: never", (50, 20, 1), ("v1", "v2"), None,
         CONFIG.model_copy(update={"DYNAMIC_INCIDENTS_TO_BLACKLIST": 0}), None),
        ("threshold 1: one incident of one caller is enough", (1,), ONE_CALLER, None,
         CONFIG.model_copy(update={"DYNAMIC_INCIDENTS_TO_BLACKLIST": 1}), NOW + 50),
    ],
)
def test_auto_blacklist(case, ages, callers, current, config, blacklisted_until):
    entry = auto_blacklist(incidents(*ages, callers=callers), config, NOW, current)
    assert (entry and entry.expires_at) == blacklisted_until
    if entry:
        assert entry.hotkey == "a" and entry.reason.startswith("auto: ")


def decline(book, uuid: str, at: float, owner: AuditStamp = OWNER) -> None:
    reserve(book, run(book, job(uuid, caller=owner.subject), now=at), uuid, now=at, caller=owner.subject)
    lifecycle.release(book, uuid, "declined", at, owner)


def test_the_third_decline_in_the_window_blacklists_the_miner_for_the_configured_time_and_says_why():
    book = make_book({"hotkey": "a", "online": 5}, **CONFIG.model_dump(include={
        "DYNAMIC_INCIDENT_WINDOW_SECONDS", "DYNAMIC_INCIDENTS_TO_BLACKLIST", "DYNAMIC_INCIDENT_BLACKLIST_SECONDS"}))
    other = AuditStamp("validator-2", "service", "corr-2")
    for n, owner in enumerate((OWNER, other)):
        decline(book, f"job-{n}", NOW + n, owner)
    third = reserve_and_decline_with_writes(book, "job-2", NOW + 2, other)
    status = miner_status(book, "a", NOW + 3, BLOCK)
    assert status.blacklist.reason == "auto: 3 incidents in 100 s" and status.recent_incidents == 3
    trail = next(w for w in third.saved if isinstance(w, AuditEntry))
    assert (trail.action, trail.target, trail.correlation_id) == ("miner.blacklist.auto", "a", "corr-2")
    assert [(i["job_uuid"], i["reported_by"]) for i in trail.after["incidents"]] == [
        ("job-0", "validator"), ("job-1", "validator-2"), ("job-2", "validator-2")]
    assert [i.kind for i in status.incidents] == ["declined"] * 3
    outcome = run(book, job("next"), now=NOW + 3)
    assert refused(outcome) == "NoMinerForExecutorType"
    assert outcome.explain.reasons["a"] == "not_blacklisted: blacklisted (auto: 3 incidents in 100 s)"
    assert selected(run(book, job("next"), now=NOW + 2 + 51)) == "a"  # the entry lapsed


def reserve_and_decline_with_writes(book, uuid: str, at: float, owner: AuditStamp):
    reserve(book, run(book, job(uuid, caller=owner.subject), now=at), uuid, now=at, caller=owner.subject)
    return lifecycle.release(book, uuid, "declined", at, owner).writes


def test_one_caller_declining_every_job_demotes_a_miner_and_never_blacklists_it():
    book = make_book({"hotkey": "a", "online": 50}, **CONFIG.model_dump(include={
        "DYNAMIC_INCIDENT_WINDOW_SECONDS", "DYNAMIC_INCIDENTS_TO_BLACKLIST", "DYNAMIC_INCIDENT_BLACKLIST_SECONDS"}))
    for n in range(10):
        decline(book, f"job-{n}", NOW + n)
    status = miner_status(book, "a", NOW + 10, BLOCK)
    assert status.recent_incidents == 10 and status.blacklist is None


def test_a_decline_receipt_of_a_job_never_routed_here_is_a_fact_not_an_incident():
    book = make_book({"hotkey": "a", "online": 5})
    for n in range(5):
        lifecycle.receipt(book, "declined", f"elsewhere-{n}", "a", "always_on.test", NOW, None, NOW, BLOCK, FEEDER)
    assert book.incidents.get("a", []) == [] and book.blacklist == {}


def test_a_cancelled_release_is_no_incident_and_one_job_counts_once():
    book = make_book({"hotkey": "a", "online": 5})
    reserve(book, run(book, job("j")), "j")
    lifecycle.release(book, "j", "cancelled", NOW, OWNER)
    assert book.incidents == {}
    reserve(book, run(book, job("k")), "k")
    for kind in ("declined", "failed"):  # a retried or contradictory report of the same job
        lifecycle.receipt(book, kind, "k", "a", "always_on.test", NOW, None, NOW, BLOCK, FEEDER)
    assert len(book.incidents["a"]) == 1


@pytest.mark.parametrize("demote, first", [(True, "b"), (False, "a")])
def test_recent_incidents_demote_a_miner_in_the_ranking(demote, first):
    book = make_book({"hotkey": "a", "online": 5, "remaining": 1000.0}, {"hotkey": "b", "online": 5, "remaining": 500.0},
                     DYNAMIC_DEMOTE_MINERS_WITH_INCIDENTS=demote)
    decline(book, "bad", NOW)
    outcome = run(book, job("next"), now=NOW + 1)
    assert selected(outcome) == first
    assert outcome.explain.as_dict(with_ranking=True)["scores"]["a"]["fewer_recent_incidents"] == (0.2 if demote else 0.0)  # 1 incident / 5 online
