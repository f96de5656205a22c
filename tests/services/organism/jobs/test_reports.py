"""Every pick's routing report survives a restart of the picker, on SQLite and PostgreSQL, full or compact,
a refusal's too; a day of reports past the retention goes, on the database."""

import time
import uuid

import pytest

from contracts.audit import AuditStamp
from contracts.jobs import JobRouted
from contracts.refusals import Refusal
from organism.jobs import documents
from organism.jobs.picker_actor import MinerPicker
from organism.state.sql import SqlStore
from tests.services.organism.pickers import new_job, stocked_picker

VALIDATOR = AuditStamp("validator", "service", "")


def restarted(location: str, scope: str) -> MinerPicker:
    return MinerPicker("store-tests", "", 12, store=SqlStore(location, scope))


@pytest.mark.parametrize("miners, compact", [(3, False), (40, True)])
def test_a_picks_report_is_read_back_after_a_restart(location, miners, compact):
    scope = f"reports-{uuid.uuid4().hex[:8]}/jobs"
    picker = stocked_picker(location, scope, miners=miners, executors=1)
    routed, other = new_job(), new_job()
    answers = picker.route_jobs([routed, other])
    assert all(isinstance(answer, JobRouted) for answer in answers), answers
    before = picker.reports(routed.job_uuid, VALIDATOR)

    after = restarted(location, scope).reports(routed.job_uuid, VALIDATOR)
    assert after == before and len(after) == 1
    kept = after[0].as_dict()
    assert (kept["compact"], kept["judged"], kept["outcome"]["hotkey"]) == (compact, miners, answers[0].miner.hotkey)
    assert kept["outcome"]["slot"] == 0 and kept["block"] == 25 and kept["request"]["caller"] == "validator"
    assert len(kept["candidates"]) == (10 if compact else miners)  # a compact report: the top 10 (the chosen first)


def test_a_refusals_report_is_kept_too(location):
    scope = f"refused-{uuid.uuid4().hex[:8]}/jobs"
    picker = stocked_picker(location, scope, miners=1, executors=1)
    picker.route_jobs([new_job()])
    busy = new_job()
    assert isinstance(picker.route_jobs([busy])[0], Refusal)
    kept = restarted(location, scope).reports(busy.job_uuid, VALIDATOR)[0].as_dict()
    assert kept["outcome"]["refusal"]["type"] == "AllMinersBusy"
    assert kept["candidates"][0]["verdicts"][-1] == {"filter": "free_slot", "passed": False, "reason": "all 1 executors busy"}


def test_a_day_of_reports_past_the_retention_is_dropped_from_the_database(location):
    scope = f"old-{uuid.uuid4().hex[:8]}/jobs"
    picker = stocked_picker(location, scope, miners=1, executors=4)
    spec = new_job()
    picker.route_jobs([spec])
    store = SqlStore(location, scope)
    later = time.time() + documents.REPORT_RETENTION_S + 2 * documents.DAY_S
    assert documents.forget_reports(store, time.time()) == 0
    assert documents.forget_reports(store, later) == 1
    assert isinstance(restarted(location, scope).reports(spec.job_uuid, VALIDATOR), Refusal)
