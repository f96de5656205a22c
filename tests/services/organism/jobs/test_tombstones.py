"""A finished uuid the book has forgotten stays refused through restarts: its tombstone is in the store."""

import time
import uuid

from contracts.jobs import JobRouted
from contracts.refusals import Refusal, RefusalKind
from organism.jobs.picker_actor import MinerPicker
from organism.jobs.retention import RETENTION_S
from organism.jobs.tombstones import TOMBSTONE_S
from organism.state.sql import SqlStore
from organism.state.store import Tombstone
from tests.services.organism.pickers import CLASS, OPS, new_job, stocked_picker


def restarted(location: str, scope: str) -> MinerPicker:
    """A new picker on the store, as after a restart: its first pick prunes the book."""
    return MinerPicker("store-tests", "", 12, store=SqlStore(location, scope))


def test_a_finished_uuid_is_refused_by_its_tombstone_once_its_records_are_forgotten(location):
    scope = f"buried-{uuid.uuid4().hex[:8]}/jobs"
    spec = new_job()
    assert isinstance(stocked_picker(location, scope, miners=1, executors=1).route_jobs([spec])[0], JobRouted)
    finished_at = time.time() - RETENTION_S - 3600  # a day and an hour ago: the book forgets its receipts
    feeder = restarted(location, scope)
    for kind in ("started", "finished"):
        feeder.record_receipt(kind, spec.job_uuid, "m000", CLASS, finished_at, 1.0, OPS)

    picked = restarted(location, scope).route_jobs([spec])[0]  # its first pick forgets the receipts, buries the uuid
    tried = restarted(location, scope).dry_run(spec)  # a dry run asks the tombstone too
    for answer in (picked, tried):
        assert isinstance(answer, Refusal) and answer.kind is RefusalKind.JOB_ALREADY_FINISHED, answer

    assert SqlStore(location, scope).forget_tombstones(finished_at + TOMBSTONE_S) == 1  # 30 days on
    assert isinstance(restarted(location, scope).route_jobs([spec])[0], JobRouted)


def test_a_picker_forgets_the_tombstones_whose_time_has_passed(location):
    scope = f"lapsed-{uuid.uuid4().hex[:8]}/jobs"
    picker = stocked_picker(location, scope, miners=1, executors=1)
    now = time.time()
    with SqlStore(location, scope).transaction() as tx:
        tx.bury([Tombstone("lapsed", now - 1), Tombstone("holding", now + TOMBSTONE_S)])
    picker.route_jobs([new_job()])  # its first pick prunes, and forgets what has lapsed (then once an hour)
    with SqlStore(location, scope).snapshot() as view:
        assert [stone.job_uuid for stone in view.tombstones()] == ["holding"]
