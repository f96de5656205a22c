"""Each selection filter on its own: one table of cases per filter (name, book, expected reason)."""

import pytest

from contracts.jobs import BlacklistEntry, Manifest
from contracts.refusals import RefusalKind
from organism.jobs.filters import (
    CANDIDATE_FILTERS,
    FILTER_NAMES,
    MANIFEST_MAX_AGE_S,
    SLOT_FILTERS,
    enough_allowance,
    enough_collateral,
    free_slot,
    fresh_manifest,
    not_blacklisted,
    online_executors,
)

from .scenario import CLASS, NOW, job, judge, make_book, reserve, run


def blacklisted(reason: str, expires_at: float | None):
    book = make_book({"hotkey": "a"})
    book.set_blacklist(BlacklistEntry("a", reason, NOW - 100, expires_at))
    return book


@pytest.mark.parametrize(
    "case, book, expected",
    [
        ("never blacklisted", make_book({"hotkey": "a"}), None),
        ("permanent", blacklisted("cheating", None), "blacklisted (cheating)"),
        ("not yet expired", blacklisted("", NOW + 1), "blacklisted"),
        ("expired", blacklisted("flaky", NOW - 1), None),
        ("expires right now", blacklisted("flaky", NOW), None),
    ],
)
def test_not_blacklisted(case, book, expected):
    assert judge(not_blacklisted, book) == expected


@pytest.mark.parametrize(
    "case, age_s, expected",
    [
        ("a minute old", 60, None),
        ("exactly four hours", MANIFEST_MAX_AGE_S, None),
        ("a second over four hours", MANIFEST_MAX_AGE_S + 1, f"newest manifest is {MANIFEST_MAX_AGE_S + 1} s old"),
    ],
)
def test_fresh_manifest(case, age_s, expected):
    assert judge(fresh_manifest, make_book({"hotkey": "a", "observed_at": NOW - age_s})) == expected


def with_late_manifest(first_online: int, first_age: float, late_online: int, late_age: float):
    book = make_book({"hotkey": "a", "online": first_online, "observed_at": NOW - first_age})
    book.add_manifests([Manifest("a", CLASS, late_online, 4, NOW - late_age, 0)])
    return book


@pytest.mark.parametrize(
    "case, book, expected",
    [
        ("one online", make_book({"hotkey": "a", "online": 1}), None),
        ("none online", make_book({"hotkey": "a", "online": 0}), "no online executors"),
        ("newest says 0 after a positive one", with_late_manifest(2, 10, 0, 1), "no online executors"),
        ("an older manifest arriving late does not replace the newest", with_late_manifest(0, 10, 3, 100), "no online executors"),
        ("equal observed_at: the later arrival wins", with_late_manifest(0, 10, 2, 10), None),
    ],
)
def test_online_executors(case, book, expected):
    assert judge(online_executors, book) == expected


@pytest.mark.parametrize(
    "case, remaining, checked, expected",
    [
        ("more than needed", 40.5, True, None),
        ("exactly the job's 40 s is not enough", 40.0, True, "40 s of allowance left, the job needs more than 40 s"),
        ("negative", -5.0, True, "-5 s of allowance left, the job needs more than 40 s"),
        ("check off: low rows pass", -5.0, False, None),
        ("check off: a missing row still fails", None, False, "no allowance row for the current cycle"),
        ("no row of the current cycle", None, True, "no allowance row for the current cycle"),
    ],
)
def test_allowance(case, remaining, checked, expected):
    book = make_book({"hotkey": "a", "remaining": remaining}, DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING=checked)
    assert judge(enough_allowance, book) == expected


@pytest.mark.parametrize(
    "case, collateral, minimum, expected",
    [
        ("equal to the minimum", 10**16, 10**16, None),
        ("one wei below", 10**16 - 1, 10**16, f"collateral {10**16 - 1} < {10**16} wei"),
        ("a zero minimum disables the check", 0, 0, None),
    ],
)
def test_collateral(case, collateral, minimum, expected):
    book = make_book({"hotkey": "a", "collateral": collateral}, DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI=minimum)
    assert judge(enough_collateral, book) == expected


def booked(online: int, jobs: int, now: float = NOW):
    book = make_book({"hotkey": "a", "online": online})
    for n in range(jobs):
        reserve(book, run(book, job(f"job-{n}")), f"job-{n}")
    return book


@pytest.mark.parametrize(
    "case, book, now, expected",
    [
        ("idle", booked(1, 0), NOW, None),
        ("one of two busy", booked(2, 1), NOW, None),
        ("every executor reserved", booked(1, 1), NOW, "all 1 executors busy"),
        ("the reservation lapsed", booked(1, 1), NOW + 10, None),
    ],
)
def test_free_slot(case, book, now, expected):
    assert judge(free_slot, book, now=now) == expected


def test_filters_are_named_and_each_refuses_with_its_kind():
    assert FILTER_NAMES == (
        "not_blacklisted", "fresh_manifest", "online_executors", "allowance", "not_declined", "collateral", "free_slot"
    )
    refusals = {f.name: f.refusal for f in (*CANDIDATE_FILTERS, *SLOT_FILTERS)}
    assert refusals["allowance"] is RefusalKind.NO_MINER_WITH_ENOUGH_ALLOWANCE
    assert refusals["collateral"] is RefusalKind.NOT_ENOUGH_COLLATERAL
    assert refusals["free_slot"] is RefusalKind.ALL_MINERS_BUSY
    assert refusals["not_declined"] is RefusalKind.ALL_CANDIDATES_DECLINED
