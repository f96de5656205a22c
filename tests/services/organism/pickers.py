"""A MinerPicker over a real store, stocked with miners that can take many jobs: what the store tests race against."""

import time
import uuid

from contracts.audit import AuditStamp
from contracts.dynamic_config import DynamicConfigPatch
from contracts.jobs import Allowance, JobSpec, Manifest, Miner
from contracts.refusals import Refusal
from organism.jobs.picker_actor import MinerPicker
from organism.state.sql import SqlStore

CLASS = "always_on.test"
OPS = AuditStamp("store-tests", "admin", "")


def stocked_picker(location: str, scope: str, miners: int, executors: int) -> MinerPicker:
    """A picker on `location`, its miners registered with `executors` slots each, fresh manifests, ample
    allowance, the block reported and reservations that outlast any test."""
    return stock(MinerPicker("store-tests", "", 12, store=SqlStore(location, scope)), miners, executors, 1e9)


def stock(picker: MinerPicker, miners: int, executors: int, allowance: float) -> MinerPicker:
    """Register `miners` with `executors` slots and `allowance` seconds each (see `stocked_picker`)."""
    now = time.time()
    for i in range(miners):
        picker.upsert_miner(Miner(f"m{i:03d}", "10.0.0.1", 8000, 4, 10**18), OPS)
    picker.add_manifests([Manifest(f"m{i:03d}", CLASS, executors, executors, now, 0) for i in range(miners)])
    picker.upsert_allowances([Allowance(f"m{i:03d}", -14, 708, allowance, allowance) for i in range(miners)], OPS)
    picker.set_block(25, OPS)
    patch = DynamicConfigPatch(DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS=3600)
    assert not isinstance(picker.patch_config(patch, OPS), Refusal)
    return picker


def new_job(job_uuid: str | None = None) -> JobSpec:
    """A job of 3 executor-seconds, routed by the service `validator` (a new uuid, unless one is given)."""
    return JobSpec(job_uuid or str(uuid.uuid4()), CLASS, 1, 1, 1, 0, False, caller="validator")
