"""A MinerPicker over an in-memory store, stocked with miners: what the picker's unit tests start from."""

import time

from contracts.audit import AuditStamp
from contracts.jobs import Allowance, Manifest, Miner
from organism.jobs.picker_actor import MinerPicker
from organism.state.store import InMemoryStore
from tests.unit.organism.jobs.scenario import BLOCK, CLASS, ETH, NETUID

OPS = AuditStamp("ops", "admin", "corr-1")


def stocked_picker(store: InMemoryStore, remaining: dict[str, float], executors: int) -> MinerPicker:
    """A picker over `store` with one miner per hotkey of `remaining` (its allowance left of 1,000 s),
    `executors` slots each, fresh manifests and the block reported."""
    picker = MinerPicker("unit", "", NETUID, store=store)
    for hotkey in remaining:
        picker.upsert_miner(Miner(hotkey, "10.0.0.1", 8000, 4, ETH), OPS)
    picker.add_manifests([Manifest(hotkey, CLASS, executors, executors, time.time(), 0) for hotkey in remaining])
    picker.upsert_allowances([Allowance(hotkey, -14, 708, 1000.0, left) for hotkey, left in remaining.items()], OPS)
    picker.set_block(BLOCK, OPS)
    return picker
