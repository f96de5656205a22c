"""The store's word on miners' slots after the book found every candidate busy: what the book learns from it.

Miner `a` has 2 executors; its book holds `j1` and `j2` there, reserved (a
picker's own bookings). Each case puts in the store what the other picker
did meanwhile: the slot claims that are live, and the jobs as stored.
"""

import dataclasses

import pytest

from contracts.refusals import Refusal, RefusalKind
from organism.jobs.documents import puts
from organism.jobs.records import Writes
from organism.jobs.stored_slots import relearn
from organism.state.store import InMemoryStore
from tests.unit.organism.jobs.scenario import CLASS, NOW, job, make_book, reserve, run

BUSY = RefusalKind.ALL_MINERS_BUSY
CASES = [  # case, the refusal, live claims (job -> held until), jobs the store holds ended, remembered full, looks again
    ("both still claimed: still busy", BUSY, {"j1": NOW + 60, "j2": NOW + 60}, [], False, False),
    ("j1 released on the other picker: learnt, its slot free", BUSY, {"j2": NOW + 60}, ["j1"], False, True),
    ("j1's claim lapsed: the book reads it again, still reserved by its own count", BUSY, {"j1": NOW, "j2": NOW + 60},
     [], False, False),
    ("remembered full after the other's claims, one since gone", BUSY, {"j1": NOW + 60}, ["j2"], True, True),
    ("remembered full, the store still full", BUSY, {"j1": NOW + 60, "j2": NOW + 60}, [], True, False),
    ("another refusal asks nothing", RefusalKind.NO_MINER_WITH_ENOUGH_ALLOWANCE, {"j2": NOW + 60}, ["j1"], False, False),
]


@pytest.mark.parametrize("case, kind, claims, ended, remembered, again", CASES, ids=[c[0] for c in CASES])
def test_relearn(case, kind, claims, ended, remembered, again):
    book = make_book({"hotkey": "a", "online": 2})
    for uuid in ("j1", "j2"):
        reserve(book, run(book, job(uuid)), uuid)
    if remembered:
        book.full_until[("a", CLASS)] = NOW + 3600
    store = InMemoryStore()
    with store.transaction() as tx:
        for uuid in ("j1", "j2"):  # ended: released, its reservation gone; else as booked
            stored = [dataclasses.replace(book.jobs[uuid], state="released", history=[])] if uuid in ended else [
                book.jobs[uuid], book.reservations[uuid]]
            tx.write(puts(Writes(stored)))
        for uuid, until in claims.items():
            assert tx.claim_slot("a", CLASS, uuid, 2, until, NOW - 1) is not None
    with store.transaction() as tx:
        assert relearn(book, tx, Refusal(kind, "refused"), CLASS, NOW) is again
    assert book.has_free_slot("a", CLASS, 2, NOW) is again
