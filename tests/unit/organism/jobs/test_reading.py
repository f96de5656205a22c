"""Reads beside the pick queue: a copy of the book that later changes do not touch, and dry runs on it."""

import dataclasses

import pytest

from contracts.chain import ChainReport
from contracts.jobs import BlacklistEntry, JobRouted
from contracts.refusals import RefusalKind
from organism.jobs import views
from organism.jobs.reading import dry_run, readable_copy
from tests.unit.organism.jobs.scenario import BLOCK, CLASS, NETUID, NOW, job, make_book, reserve, run

HOUR = 3600.0


def booked_book():
    book = make_book({"hotkey": "a", "online": 2}, {"hotkey": "b", "online": 2})
    book.chain = ChainReport(BLOCK, NOW)
    reserve(book, run(book, job("first")), "first")
    return book


def status(book, hotkey="a", now=NOW):
    return views.miner_status(book, hotkey, now, BLOCK)


CHANGES = {
    "a pick": lambda book: reserve(book, run(book, job("second")), "second"),
    "a blacklist": lambda book: book.set_blacklist(BlacklistEntry("a", "bad", NOW, NOW + HOUR)),
    "a new miner": lambda book: book.upsert_miner(dataclasses.replace(book.miners["a"], hotkey="c")),
    "a lapse of every hold": lambda book: book.holds.lapse_all(NOW + 10 * HOUR),
}


@pytest.mark.parametrize("jobs", [True, False], ids=["with jobs", "for miner views"])
@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_copy_stays_as_it_was_when_the_book_changes(change, jobs):
    book = booked_book()
    copy = readable_copy(book, jobs)
    before = (status(copy), sorted(copy.miners), copy.holds.held("a", (-14, 708), NOW))
    change(book)
    assert (status(copy), sorted(copy.miners), copy.holds.held("a", (-14, 708), NOW)) == before


def test_a_copy_for_miner_views_shows_them_as_the_book_does_without_the_jobs():
    book = booked_book()
    copy = readable_copy(book, jobs=False)
    assert (copy.jobs, list(copy.order)) == ({}, [])
    assert [status(copy, h) for h in "ab"] == [status(book, h) for h in "ab"]
    assert status(book).ongoing_jobs == {CLASS: 1}  # the booking the copy counts without its record


def test_reading_a_copy_leaves_the_book_as_it_was():
    book = booked_book()
    held = book.holds.held("a", (-14, 708), NOW)
    readable_copy(book).holds.lapse_all(NOW + 10 * HOUR)  # reading late drains the copy's lapsed holds
    assert book.holds.held("a", (-14, 708), NOW) == held > 0


def test_a_copy_shows_what_the_book_shows():
    book = booked_book()
    copy = readable_copy(book)
    assert [status(copy, hotkey) for hotkey in "ab"] == [status(book, hotkey) for hotkey in "ab"]
    assert views.jobs_page(copy, NOW, 10) == views.jobs_page(book, NOW, 10)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (job("new"), ("b", False, None)),  # "a" holds one of its two slots: the idler ranks first
        (job("first"), ("a", True, "the reservation's expiry")),  # a routed uuid replays its booking
    ],
)
def test_a_dry_run_answers_as_a_pick_would_and_books_nothing(spec, expected):
    book = booked_book()
    answer = dry_run(readable_copy(book), spec, NETUID, NOW)
    assert isinstance(answer, JobRouted) and answer.dry_run and answer.explain
    expires = book.reservations["first"].expires_at if expected[2] else None
    assert (answer.miner.hotkey, answer.replayed, answer.reservation_expires_at) == (*expected[:2], expires)
    assert sorted(book.reservations) == ["first"]


def test_a_dry_run_refused_for_busy_miners_says_when_to_try_again():
    book = make_book({"hotkey": "a"}, {"hotkey": "b"})
    book.chain = ChainReport(BLOCK, NOW)
    for uuid in ("first", "second"):
        reserve(book, run(book, job(uuid)), uuid)
    answer = dry_run(readable_copy(book), job("new"), NETUID, NOW)
    reservation_s = book.config.DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS
    assert (answer.kind, answer.retry_after_s) == (RefusalKind.ALL_MINERS_BUSY, max(1, reservation_s))
