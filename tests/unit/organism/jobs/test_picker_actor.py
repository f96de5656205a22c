"""MinerPicker over a store that goes away: what it could not write, it neither answers nor remembers."""

import time

import pytest

from organism.jobs.dynamic_config import DynamicConfigPatch
from organism.jobs.outcomes import JobRouted
from organism.jobs.picker_actor import MinerPicker
from organism.jobs.records import Allowance, Manifest, Miner
from organism.state.store import InMemoryStore, StoreUnavailable
from tests.unit.organism.jobs.scenario import CLASS, ETH, job


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def picker(store: InMemoryStore) -> MinerPicker:
    picker = MinerPicker("unit", "", 12, store=store)
    picker.upsert_miner(Miner("a", "10.0.0.1", 8000, 4, ETH))
    picker.add_manifests([Manifest("a", CLASS, 2, 2, time.time(), 0)])
    picker.upsert_allowances([Allowance("a", -14, 708, 1000.0, 1000.0)])
    picker.set_block(25)
    return picker


def booked(outcome) -> str:
    assert isinstance(outcome, JobRouted), outcome
    return outcome.miner.hotkey


def test_a_pick_the_store_could_not_write_is_neither_answered_nor_remembered(picker, store):
    store.reachable = False
    with pytest.raises(StoreUnavailable):
        picker.route_job(job("lost"), dry_run=False)
    store.reachable = True
    # the failed pick holds neither of the two slots: two other jobs get them
    assert [booked(picker.route_job(job(uuid), dry_run=False)) for uuid in ("first", "second")] == ["a", "a"]


CHANGES = [
    ("a miner", lambda p: p.upsert_miner(Miner("b", "10.0.0.2", 8000, 4, ETH))),
    ("manifests", lambda p: p.add_manifests([Manifest("a", CLASS, 1, 2, time.time(), 0)])),
    ("a blacklisting", lambda p: p.blacklist("a", "flaky", None)),
    ("allowances", lambda p: p.upsert_allowances([Allowance("a", -14, 708, 1000.0, 1.0)])),
    ("the block", lambda p: p.set_block(40)),
    ("the config", lambda p: p.patch_config(DynamicConfigPatch(DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS=9))),
    ("a receipt", lambda p: p.record_receipt("started", "job-x", "a", CLASS, time.time(), None)),
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
