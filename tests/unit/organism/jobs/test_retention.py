"""What the book forgets: lapsed bookings at once, jobs, receipts and incidents after the retention."""

import pytest

from contracts.chain import ChainReport
from contracts.jobs import Allowance, Receipt
from organism.jobs.records import Reservation, RoutedJob, Writes
from organism.jobs.retention import prune

from .scenario import BLOCK, CLASS, NOW, OWNER, job, make_book, reserve, run


def test_prune_forgets_lapsed_bookings_and_keeps_live_ones():
    book = make_book({"hotkey": "a", "online": 100})
    for n in range(5):
        reserve(book, run(book, job(f"old-{n}")), f"old-{n}")
    later = NOW + 60
    reserve(book, run(book, job("live"), now=later), "live", now=later)
    book.record_receipt(Receipt("started", "running", "a", CLASS, later, 1000.0), BLOCK)
    dropped = prune(book, later).dropped
    assert sorted(r.job_uuid for r in dropped) == [f"old-{n}" for n in range(5)]
    assert all(isinstance(r, Reservation) for r in dropped)
    assert book.jobs_by_slot[("a", CLASS)] == {"live", "running"}
    assert book.ongoing_jobs("a", CLASS, later) == 2
    assert set(book.reservations) == {"live"}


def test_prune_forgets_jobs_and_receipts_after_the_retention():
    book = make_book({"hotkey": "a", "online": 10})
    book.reserve(Reservation("old", "a", CLASS, NOW, NOW + 10), RoutedJob("old", "a", CLASS, 40, 94, "selected", routed_at=NOW), None)
    book.record_receipt(Receipt("finished", "ext", "a", CLASS, NOW, 5.0), BLOCK)
    later = NOW + 200  # retention 100 s: "old" (routed at NOW) and "ext" (done at NOW + 5) are past it
    book.reserve(Reservation("new", "a", CLASS, later, later + 10), RoutedJob("new", "a", CLASS, 40, 94, "selected", routed_at=later), None)
    dropped = prune(book, later, retention_s=100).dropped
    assert {(type(r).__name__, r.job_uuid) for r in dropped} >= {("RoutedJob", "old"), ("Receipt", "ext")}
    assert set(book.jobs) == {"new"} and not book.finished


def test_incidents_are_forgotten_after_the_retention_and_kept_before():
    from organism.jobs import lifecycle

    book = make_book({"hotkey": "a", "online": 10})
    for uuid, at in (("old", NOW), ("new", NOW + 150)):
        reserve(book, run(book, job(uuid), now=at), uuid, now=at)
        lifecycle.release(book, uuid, "declined", at, OWNER)
    dropped = prune(book, NOW + 200, retention_s=100).dropped
    assert [(i.hotkey, i.job_uuid) for i in dropped if type(i).__name__ == "Incident"] == [("a", "old")]
    assert [i.job_uuid for i in book.incidents["a"]] == ["new"]


def test_nothing_to_forget_writes_nothing():
    book = make_book({"hotkey": "a", "online": 1})
    assert prune(book, NOW) == Writes()


@pytest.mark.parametrize(
    ("cycle", "kept"),
    [
        ((-14, 708), True),  # the current cycle (block 25)
        ((-736, -14), True),  # ended 39 blocks ago: within the retention's 8,333 blocks
        ((-9400, -8700), False),  # ended 8,725 blocks ago: past it
        ((708, 1430), True),  # the next one, fed early
    ],
)
def test_allowance_rows_of_cycles_long_ended_leave_memory_and_the_store(cycle, kept):
    book = make_book({"hotkey": "a"})
    book.chain = ChainReport(BLOCK, NOW)
    book.upsert_allowances([Allowance("a", *cycle, 10.0, 10.0)])
    dropped = prune(book, NOW, retention_s=100_000).dropped
    assert (cycle in book.allowances, [r for r in dropped if isinstance(r, Allowance) and r.cycle_start == cycle[0]]
            ) == (kept, [] if kept else [Allowance("a", *cycle, 10.0, 10.0)])
    assert book.allowance_rows(BLOCK)["a"].cycle_start == -14  # the pick's rows: the current cycle's
