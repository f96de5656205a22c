"""The picker's trace log on SQLite and PostgreSQL: every committed change is recorded in its transaction, read
back in order by `since` across a restart, a refused change is not, and a day past the retention goes."""

import time
import uuid

from contracts.jobs import JobRouted
from contracts.refusals import Refusal
from organism.jobs import trace_log
from organism.jobs.picker_actor import MinerPicker
from organism.state.sql import SqlStore
from tests.services.organism.pickers import OPS, new_job, stocked_picker


def everything(picker: MinerPicker, since: float = 0.0) -> list[dict]:
    lines, cursor = [], None
    while True:
        page, cursor = picker.trace_page(since, cursor, 2)
        lines += page
        if cursor is None:
            return lines


def test_changes_are_recorded_in_order_and_read_back_after_a_restart(location):
    scope = f"trace-{uuid.uuid4().hex[:8]}/jobs"
    picker = stocked_picker(location, scope, miners=2, executors=1)
    spec = new_job()
    assert isinstance(picker.route_jobs([spec, new_job(), new_job()])[0], JobRouted)
    assert isinstance(picker.blacklist("nobody", "late", None, OPS), Refusal)  # refused: changed nothing, not recorded
    middle = time.time()
    restarted = MinerPicker("store-tests", "", 12, store=SqlStore(location, scope))
    restarted.record_receipt("started", spec.job_uuid, picker.job(spec.job_uuid).hotkey, spec.executor_class,
                             time.time(), None, OPS)

    kinds = [line["kind"] for line in everything(restarted)]
    assert kinds == ["seed", *["miner"] * 2, "manifests", "allowances", "block", "config", *["route"] * 3,
                     "seed", "receipt"]
    routes = [line for line in everything(restarted) if line["kind"] == "route"]
    assert [r["live"] for r in routes][2] == {"refused": "AllMinersBusy"}
    assert [line["kind"] for line in everything(restarted, since=middle)] == ["seed", "receipt"]


def test_a_day_past_the_retention_goes(location):
    scope = f"trace-old-{uuid.uuid4().hex[:8]}/jobs"
    picker = stocked_picker(location, scope, miners=1, executors=1)
    store = SqlStore(location, scope)
    assert trace_log.forget(store, time.time()) == 0
    assert trace_log.forget(store, time.time() + trace_log.RETENTION_S + 2 * trace_log.DAY_S) == 5  # stock's changes
    assert everything(picker) == []
