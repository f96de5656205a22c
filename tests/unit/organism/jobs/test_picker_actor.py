"""MinerPicker over a store that goes away: what it could not write, it neither answers nor remembers."""

import time

import pytest

from contracts.audit import AuditStamp
from contracts.dynamic_config import DynamicConfigPatch
from contracts.jobs import Allowance, JobRouted, Manifest, Miner
from contracts.refusals import Refusal, StoreUnavailable
from organism.jobs.picker_actor import MinerPicker
from organism.state.store import InMemoryStore
from tests.unit.organism.jobs.pickers import OPS, stocked_picker
from tests.unit.organism.jobs.scenario import CLASS, ETH, job

FEEDER = AuditStamp("feeder", "facts", "corr-2")


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def picker(store: InMemoryStore) -> MinerPicker:
    return stocked_picker(store, {"a": 1000.0}, 2)


def booked(outcome) -> str:
    assert isinstance(outcome, JobRouted), outcome
    return outcome.miner.hotkey


def test_a_pick_the_store_could_not_write_is_neither_answered_nor_remembered(picker, store):
    store.reachable = False
    with pytest.raises(StoreUnavailable):
        picker.route_jobs([job("lost")])
    store.reachable = True
    # the failed pick holds neither of the two slots: two other jobs get them
    assert [booked(picker.route_jobs([job(uuid)])[0]) for uuid in ("first", "second")] == ["a", "a"]


CHANGES = [
    ("a miner", lambda p: p.upsert_miner(Miner("b", "10.0.0.2", 8000, 4, ETH), OPS)),
    ("manifests", lambda p: p.add_manifests([Manifest("a", CLASS, 1, 2, time.time(), 0)])),
    ("a blacklisting", lambda p: p.blacklist("a", "flaky", None, OPS)),
    ("allowances", lambda p: p.upsert_allowances([Allowance("a", -14, 708, 1000.0, 1.0)], OPS)),
    ("the block", lambda p: p.set_block(40, OPS)),
    ("the config", lambda p: p.patch_config(DynamicConfigPatch(DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS=9), OPS)),
    ("a receipt", lambda p: p.record_receipt("started", "job-x", "a", CLASS, time.time(), None, FEEDER)),
]


@pytest.mark.parametrize("what, change", CHANGES, ids=[c[0] for c in CHANGES])
def test_a_change_the_store_could_not_write_is_forgotten_once_it_answers(picker, store, what, change):
    before = (picker.miners(limit=10), picker.config())
    store.reachable = False
    with pytest.raises(StoreUnavailable):
        change(picker)
    with pytest.raises(StoreUnavailable):  # while it is out, the picker does not answer from a book ahead of it
        picker.miners(limit=10)
    store.reachable = True
    assert (picker.miners(limit=10), picker.config()) == before


AUDITED = [
    ("miner.register", "b", lambda p: p.upsert_miner(Miner("b", "10.0.0.2", 8000, 4, ETH), FEEDER), None),
    ("miner.deregister", "a", lambda p: p.deregister("a", FEEDER), None),
    ("miner.blacklist", "a", lambda p: p.blacklist("a", "flaky", 60, OPS), None),
    ("allowances.update", None, lambda p: p.upsert_allowances([Allowance("a", -14, 708, 1000.0, 5.0)], FEEDER),
     [{"hotkey": "a", "cycle_start": -14, "cycle_stop": 708, "initial": 1000.0, "remaining": 1000.0}]),
    ("chain.report", None, lambda p: p.set_block(40, FEEDER), 25),
    ("config.patch", None, lambda p: p.patch_config(DynamicConfigPatch(DYNAMIC_INCIDENTS_TO_BLACKLIST=2), OPS),
     {"DYNAMIC_INCIDENTS_TO_BLACKLIST": 5}),
]


@pytest.mark.parametrize("action, target, change, before", AUDITED, ids=[a[0] for a in AUDITED])
def test_every_fact_and_config_change_is_audited_with_who_and_what_was_there(picker, action, target, change, before):
    change(picker)
    (key, entry), *_ = picker.audit_page(None, 1, None, None)[0]
    assert (entry.action, entry.target) == (action, target)
    assert (entry.subject, entry.role) in {("ops", "admin"), ("feeder", "facts")}
    if before is not None:
        assert entry.before == before


def test_a_refused_change_leaves_no_entry_and_lifting_a_blacklist_is_one(picker):
    count = len(picker.audit_page(None, 100, None, None)[0])
    assert isinstance(picker.blacklist("nobody", "x", None, OPS), Refusal)
    assert len(picker.audit_page(None, 100, None, None)[0]) == count
    picker.blacklist("a", "flaky", None, OPS)
    picker.lift_blacklist("a", OPS)
    lifted = picker.audit_page(None, 1, "miner.blacklist.lift", None)[0][0][1]
    assert lifted.before["reason"] == "flaky" and lifted.after is None
