"""Two MinerPickers on one store behave as one: what one booked, the other knows, holds and spends.

As the two clusters of a NewCluster upgrade share one database: `old` and
`new` load the same book, then each learns only what it does itself, unless
it reads the store. Miner `a` has 3 executors and 100 s of allowance; a job
needs 40 executor-seconds, so the allowance takes two jobs and not a third
(the slots' tests give it 1,000 s: there the executors bind).
"""

import time

import pytest

from contracts.audit import AuditStamp
from contracts.jobs import Allowance, JobRouted, JobView, Manifest, Miner, Receipt
from contracts.refusals import Refusal, RefusalKind
from organism.jobs.picker_actor import MinerPicker
from organism.state.store import InMemoryStore
from tests.unit.organism.jobs.scenario import CLASS, ETH, OWNER, job

OPS = AuditStamp("ops", "admin", "corr-1")
FEEDER = AuditStamp("feeder", "facts", "corr-2")


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def pickers(store: InMemoryStore) -> dict[str, MinerPicker]:
    return two_pickers(store, allowance=100.0)


def two_pickers(store: InMemoryStore, allowance: float) -> dict[str, MinerPicker]:
    old = MinerPicker("unit", "", 12, store=store)
    old.upsert_miner(Miner("a", "10.0.0.1", 8000, 4, ETH), OPS)
    old.add_manifests([Manifest("a", CLASS, 3, 3, time.time(), 0)])
    old.upsert_allowances([Allowance("a", -14, 708, allowance, allowance)], OPS)
    old.set_block(25, OPS)
    return {"old": old, "new": MinerPicker("unit", "", 12, store=store)}  # the second cluster starts beside it


def routed(answer) -> JobRouted:
    assert isinstance(answer, JobRouted), answer
    return answer


def test_a_job_booked_on_one_picker_is_replayed_on_the_other_not_booked_again(pickers, store):
    first = routed(pickers["old"].route_jobs([job("j1")])[0])
    again = routed(pickers["new"].route_jobs([job("j1")])[0])
    assert (again.replayed, again.miner, again.reservation_expires_at) == (True, first.miner, first.reservation_expires_at)
    assert [c.job_uuid for c in store.claims()] == ["j1"]


ACTS_ON_THE_OTHERS_JOB = [  # what the picker that did not route the job is asked, and the state both then read
    ("a release", lambda p: p.release_job("j1", "cancelled", OWNER), "released"),
    ("a started receipt", lambda p: p.record_receipt("started", "j1", "a", CLASS, time.time(), None, FEEDER), "running"),
    ("a failed receipt", lambda p: p.record_receipt("failed", "j1", "a", CLASS, time.time(), None, FEEDER), "failed"),
]


@pytest.mark.parametrize("what, act, state", ACTS_ON_THE_OTHERS_JOB, ids=[c[0] for c in ACTS_ON_THE_OTHERS_JOB])
def test_a_job_booked_on_one_picker_is_ended_or_started_on_the_other_as_its_owner_would(pickers, what, act, state):
    routed(pickers["old"].route_jobs([job("j1")])[0])
    answer = act(pickers["new"])
    assert isinstance(answer, JobView | Receipt), answer
    assert [pickers[name].job("j1").state for name in ("new", "old")] == [state, state]


def test_the_allowance_held_on_one_picker_is_not_spent_again_on_the_other(pickers, store):
    routed(pickers["old"].route_jobs([job("j1")])[0])
    routed(pickers["old"].route_jobs([job("j2")])[0])  # 80 of 100 s held
    refused = pickers["new"].route_jobs([job("j3")])[0]  # its own book still says 100 s are left
    assert isinstance(refused, Refusal), refused
    assert refused.kind is RefusalKind.NO_MINER_WITH_ENOUGH_ALLOWANCE  # and the book has learnt what the store holds
    assert sorted(c.job_uuid for c in store.claims()) == ["j1", "j2"]


def test_deductions_made_on_both_pickers_are_both_kept(pickers, store):
    for name, uuid in (("old", "j1"), ("new", "j2")):
        routed(pickers[name].route_jobs([job(uuid)])[0])
    for name, uuid in (("new", "j1"), ("old", "j2")):  # each started on the picker that did not book it
        pickers[name].record_receipt("started", uuid, "a", CLASS, time.time(), None, FEEDER)
    assert store.load("allowances")["a|-14|708"]["remaining"] == 100.0 - 2 * 40
    assert store.holds == {}  # each hold became its deduction


def finish(picker: MinerPicker) -> None:
    for kind in ("started", "finished"):
        picker.record_receipt(kind, "j1", "a", CLASS, time.time(), None, FEEDER)


SLOTS_FREED_ON_THE_OTHER = [  # case, the picker that books a's 3 slots, what `new` then does, whether `old` books again
    ("the other's bookings, one released there", "new", lambda p: p.release_job("j1", "cancelled", OWNER), True),
    ("its own bookings, one released on the other", "old", lambda p: p.release_job("j1", "cancelled", OWNER), True),
    ("its own bookings, one finished on the other", "old", finish, True),
    ("its own bookings, one started on the other: still busy", "old",
     lambda p: p.record_receipt("started", "j1", "a", CLASS, time.time(), None, FEEDER), False),
    ("nothing freed: still busy", "new", lambda p: None, False),
]


@pytest.mark.parametrize("case, booker, act, books", SLOTS_FREED_ON_THE_OTHER, ids=[c[0] for c in SLOTS_FREED_ON_THE_OTHER])
def test_a_slot_freed_on_the_other_picker_is_free_on_this_one(store, case, booker, act, books):
    pickers = two_pickers(store, allowance=1000.0)
    for uuid in ("j1", "j2", "j3"):
        routed(pickers[booker].route_jobs([job(uuid)])[0])
    busy = pickers["old"].route_jobs([job("j4")])[0]  # every slot taken: it learns so, and remembers
    assert isinstance(busy, Refusal) and busy.kind is RefusalKind.ALL_MINERS_BUSY, busy
    act(pickers["new"])
    answer = pickers["old"].route_jobs([job("j5")])[0]
    assert isinstance(answer, JobRouted) is books, answer
    assert len(store.claims()) == 3  # never more claims than executors
