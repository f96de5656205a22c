"""A finished uuid is never routed again: not while the book holds its receipt, nor once only its tombstone is left."""

import pytest

from contracts.jobs import Manifest, Receipt
from contracts.refusals import Refusal
from organism.jobs import lifecycle, tombstones
from organism.jobs.retention import RETENTION_S, prune
from organism.jobs.tombstones import TOMBSTONE_S
from organism.state.store import Tombstone

from .scenario import BLOCK, CLASS, FEEDER, NOW, job, make_book, refused, reserve, run, selected

HOUR = 3600.0
FINISHED = "JobAlreadyFinished"


def finished_book():
    """Miner `a` with one executor; job-1 routed at NOW, started and finished at NOW + 60 (receipts of 1 s)."""
    book = make_book({"hotkey": "a", "online": 1})
    reserve(book, run(book, job("job-1")), "job-1")
    for kind in ("started", "finished"):
        lifecycle.receipt(book, kind, "job-1", "a", CLASS, NOW + 60, 1.0, NOW + 60, BLOCK, FEEDER)
    return book


def test_a_finished_job_is_refused_by_its_receipt_then_by_its_tombstone_until_the_tombstone_lapses():
    book, stones = finished_book(), {}

    def pick_at(now: float) -> str:
        """As the picker: prune (the store keeps what it buries), ask for a tombstone, else pick."""
        book.add_manifests([Manifest("a", CLASS, 1, 1, now, 0)])  # the miner stays fresh all month
        stones.update((s.job_uuid, s) for s in prune(book, now).saved if isinstance(s, Tombstone))
        buried = tombstones.refusal(book, job("job-1"), now, lambda uuid: uuid in stones and stones[uuid].holds(now))
        outcome = buried or run(book, job("job-1"), now=now)
        return outcome.kind.value if isinstance(outcome, Refusal) else outcome.hotkey

    assert refused(run(book, job("job-1"), now=NOW + HOUR)) == FINISHED  # the book holds the receipt
    assert pick_at(NOW + HOUR) == FINISHED and stones == {}  # nothing to bury yet
    forgotten = NOW + 60 + 1.0 + RETENTION_S + 1  # a day after the receipt stopped holding a slot
    assert pick_at(forgotten) == FINISHED
    assert stones == {"job-1": Tombstone("job-1", NOW + 60 + TOMBSTONE_S)} and "job-1" not in book.finished
    assert selected(run(book, job("job-1"), now=forgotten)) == "a"  # what the book alone would do: route it again
    assert pick_at(NOW + 60 + TOMBSTONE_S - 1) == FINISHED
    assert pick_at(NOW + 60 + TOMBSTONE_S) == "a"  # 30 days on, the uuid is free again


def test_a_tombstone_answers_what_the_finished_receipt_answered():
    book = finished_book()
    by_receipt = run(book, job("job-1"), now=NOW + HOUR)
    prune(book, NOW + 60 + 1.0 + RETENTION_S + 1)
    by_tombstone = tombstones.refusal(book, job("job-1"), NOW + 2 * RETENTION_S, lambda uuid: True)
    assert by_tombstone == by_receipt


@pytest.mark.parametrize(
    "case, setup, buried, answer, asked",
    [
        ("a tombstone holds the uuid", lambda book: None, True, FINISHED, True),
        ("no tombstone: a fresh pick", lambda book: None, False, None, True),
        ("the book holds the finished receipt: it answers alone",
         lambda book: book.record_receipt(Receipt("finished", "job-1", "a", CLASS, NOW, 1.0), BLOCK), True, None, False),
        ("a booking to replay: the book answers alone",
         lambda book: reserve(book, run(book, job("job-1")), "job-1"), True, None, False),
    ],
)
def test_the_store_is_asked_only_for_a_pick_the_book_would_route_afresh(case, setup, buried, answer, asked):
    book = make_book({"hotkey": "a", "online": 1})
    setup(book)
    questions = []

    def ask(uuid: str) -> bool:
        questions.append(uuid)
        return buried

    outcome = tombstones.refusal(book, job("job-1"), NOW + 1, ask)
    assert (None if outcome is None else refused(outcome), questions) == (answer, ["job-1"] if asked else [])


@pytest.mark.parametrize(
    "case, receipts, expected",
    [
        ("a finished receipt leaves a tombstone 30 days from its finish", [("finished", "x", NOW)],
         [Tombstone("x", NOW + TOMBSTONE_S)]),
        ("a started receipt leaves none", [("started", "y", NOW)], []),
    ],
)
def test_what_the_book_forgets_is_buried(case, receipts, expected):
    book = make_book({"hotkey": "a", "online": 1})
    for kind, uuid, at in receipts:
        book.record_receipt(Receipt(kind, uuid, "a", CLASS, at, 1.0), BLOCK)
    writes = prune(book, NOW + 2 * RETENTION_S)
    assert [s for s in writes.saved if isinstance(s, Tombstone)] == expected
