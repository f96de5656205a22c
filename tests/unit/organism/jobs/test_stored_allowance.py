"""The store's word on a miner's allowance: what it confirms, and what the book learns from it.

Miner `a`: 100 s left in cycle [-14, 708) by its own book; the job needs 40.
Each case puts the stored row and holds (another picker's work) in the store.
"""

import pytest

from contracts.chain import ChainReport
from contracts.jobs import Allowance
from contracts.refusals import Refusal, RefusalKind
from organism.jobs.documents import puts
from organism.jobs.records import Writes
from organism.jobs.stored_allowance import confirm, relearn
from organism.state.store import AllowanceHold, InMemoryStore
from tests.unit.organism.jobs.scenario import BLOCK, CLASS, NOW, job, make_book

CYCLE = (-14, 708)


def hold(uuid: str, seconds: float, until: float = NOW + 60) -> AllowanceHold:
    return AllowanceHold(uuid, "a", *CYCLE, seconds, until)


CASES = [  # case, stored remaining, stored holds, config, confirmed, the book's allowance left after
    ("the store leaves enough", 100.0, [], {}, True, 100.0),
    ("the store leaves enough, and the book learns what it holds", 90.0, [hold("other", 10.0)], {}, True, 80.0),
    ("another picker's holds take it", 100.0, [hold("other", 70.0)], {}, False, 30.0),
    ("another picker's deductions take it", 30.0, [], {}, False, 30.0),
    ("both, each short of it alone", 80.0, [hold("other", 50.0)], {}, False, 30.0),
    ("the job's own hold is about to be replaced", 100.0, [hold("job-1", 70.0)], {}, True, 100.0),
    ("a lapsed hold holds nothing", 100.0, [hold("other", 70.0, until=NOW)], {}, True, 100.0),
    ("another cycle's hold holds nothing here", 100.0, [AllowanceHold("other", "a", 708, 1400, 70.0, NOW + 60)], {},
     True, 100.0),
    ("routing checks no allowance", 10.0, [], {"DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING": False}, True, 100.0),
]


@pytest.mark.parametrize("case, remaining, holds, config, confirmed, left", CASES, ids=[c[0] for c in CASES])
def test_confirm(case, remaining, holds, config, confirmed, left):
    book = make_book({"hotkey": "a", "remaining": 100.0}, **config)
    store = InMemoryStore()
    with store.transaction() as tx:
        tx.write(puts(Writes([Allowance("a", *CYCLE, 100.0, remaining)])))
        for each in holds:
            tx.hold_allowance(each)
    with store.transaction() as tx:
        assert confirm(book, tx, job(), "a", BLOCK, NOW) is confirmed
    assert book.allowance_left(book.allowance_rows(BLOCK)["a"], NOW) == left


@pytest.mark.parametrize("book_holds, rows_read", [([hold("other", 10.0)], False), ([], True)])
def test_the_hold_rows_are_read_only_when_the_stores_sum_is_not_the_books(book_holds, rows_read):
    book = make_book({"hotkey": "a", "remaining": 100.0})
    for each in book_holds:
        book.holds.hold("a", each.job_uuid, CYCLE, each.seconds, each.until)
    store = InMemoryStore()
    with store.transaction() as tx:
        tx.hold_allowance(hold("other", 10.0))
    with store.transaction() as tx:
        reads: list[str] = []
        rows = tx.allowance_held
        tx.allowance_held = lambda *args: reads.append("rows") or rows(*args)  # type: ignore[method-assign]
        assert confirm(book, tx, job(), "a", BLOCK, NOW)
    assert (bool(reads), book.holds.jobs_of("a")) == (rows_read, ["other"])


def test_a_miner_without_a_row_in_the_cycle_is_not_asked_about():
    book = make_book({"hotkey": "a", "remaining": None})
    with InMemoryStore().transaction() as tx:
        assert confirm(book, tx, job(), "a", BLOCK, NOW)
        assert confirm(book, tx, job(), "a", None, NOW)  # no block reported: no cycle to ask about


RELEARNS = [  # case, the refusal the book gave, holds the book learnt before, the store's holds, looks again, left after
    ("a learnt hold its job no longer holds goes", RefusalKind.NO_MINER_WITH_ENOUGH_ALLOWANCE, [hold("other", 70.0)], [],
     True, 100.0),
    ("a hold the store still has stays", RefusalKind.NO_MINER_WITH_ENOUGH_ALLOWANCE, [hold("other", 70.0)],
     [hold("other", 70.0)], False, 30.0),
    ("every miner with enough busy: a miner with a free slot, counted short, is asked", RefusalKind.ALL_MINERS_BUSY,
     [hold("other", 70.0)], [], True, 100.0),
    ("every miner with enough busy: its holds the store's already", RefusalKind.ALL_MINERS_BUSY,
     [hold("other", 70.0)], [hold("other", 70.0)], False, 30.0),
    ("another refusal asks nothing", RefusalKind.NOT_ENOUGH_COLLATERAL, [hold("other", 70.0)], [], False, 30.0),
]


@pytest.mark.parametrize("case, kind, learnt, holds, again, left", RELEARNS, ids=[c[0] for c in RELEARNS])
def test_relearn(case, kind, learnt, holds, again, left):
    book = make_book({"hotkey": "a", "remaining": 100.0})
    book.set_chain(ChainReport(BLOCK, NOW))
    for each in learnt:
        book.holds.hold("a", each.job_uuid, CYCLE, each.seconds, each.until)
    store = InMemoryStore()
    with store.transaction() as tx:
        for each in holds:
            tx.hold_allowance(each)
    with store.transaction() as tx:
        assert relearn(book, tx, Refusal(kind, "refused"), NOW, CLASS) is again
    assert book.allowance_left(book.allowance_rows(BLOCK)["a"], NOW) == left
