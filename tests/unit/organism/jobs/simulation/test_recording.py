"""The live picker's inputs as trace events: each change's line, as the trace format reads it back."""

import json

import pytest

from contracts.audit import AuditStamp
from contracts.dynamic_config import DynamicConfigPatch
from contracts.jobs import Allowance, JobRouted, JobSpec, Manifest, Miner, MinerAddress
from contracts.refusals import Refusal, RefusalKind
from organism.jobs.simulation import recording
from organism.jobs.simulation.trace import HEADER, read

NOW = 100.0
SPEC = JobSpec("j1", "always_on.test", 1, 2, 3, 4, False, caller="validator")
JOB = {"job_uuid": "j1", "executor_class": "always_on.test", "download_time_limit": 1, "execution_time_limit": 2,
       "upload_time_limit": 3, "streaming_start_time_limit": 4, "on_trusted_miner": False, "caller": "validator"}
ROUTED = JobRouted("j1", MinerAddress("m1", "10.0.0.1", 8000, 4), "selected", 110.0, False, False, None)
FEEDER = AuditStamp("feeder", "facts", "c")
ADMIN = AuditStamp("ops", "admin", "c")

CASES = [
    ("seed", recording.seed(7, NOW), {"seed": 7}),
    ("miner (collateral exact, as a string)", recording.miner(Miner("m1", "10.0.0.1", 8000, 4, 10**30), NOW),
     {"hotkey": "m1", "address": "10.0.0.1", "port": 8000, "ip_version": 4, "collateral_wei": str(10**30)}),
    ("deregister", recording.deregister("m1", NOW), {"hotkey": "m1"}),
    ("manifests (from the future: clamped)", recording.manifests([Manifest("m1", "c", 2, 3, NOW + 50, 9)], NOW),
     {"manifests": [{"hotkey": "m1", "executor_class": "c", "online_executor_count": 2, "executor_count": 3,
                     "observed_at": NOW}]}),
    ("allowances", recording.allowances([Allowance("m1", -14, 708, 3600.0, 3000.0)], NOW),
     {"allowances": [{"hotkey": "m1", "cycle_start": -14, "cycle_stop": 708, "initial": 3600.0, "remaining": 3000.0}]}),
    ("block", recording.block(25, NOW), {"block": 25}),
    ("blacklist", recording.blacklist("m1", "late", None, NOW), {"hotkey": "m1", "reason": "late", "duration_s": None}),
    ("lift", recording.lift("m1", NOW), {"hotkey": "m1"}),
    ("config: only the fields set", recording.config(DynamicConfigPatch(DYNAMIC_INCIDENTS_TO_BLACKLIST=3), NOW),
     {"patch": {"DYNAMIC_INCIDENTS_TO_BLACKLIST": 3}}),
    ("a booked pick", recording.route(SPEC, ROUTED, NOW), {"job": JOB, "live": {"hotkey": "m1"}}),
    ("a refused pick, by an admin", recording.route(
        JobSpec(**{**JOB, "caller_is_admin": True}), Refusal(RefusalKind.ALL_MINERS_BUSY, "busy"), NOW),
     {"job": {**JOB, "caller_is_admin": True}, "live": {"refused": "AllMinersBusy"}}),
    ("a receipt (its time clamped)", recording.receipt("started", "j1", "m1", "c", NOW + 9, 30.0, FEEDER, NOW),
     {"receipt_kind": "started", "job_uuid": "j1", "hotkey": "m1", "executor_class": "c", "reporter": "feeder",
      "timestamp": NOW, "ttl_s": 30.0}),
    ("a receipt without ttl", recording.receipt("finished", "j1", "m1", "c", NOW - 1, None, FEEDER, NOW),
     {"receipt_kind": "finished", "job_uuid": "j1", "hotkey": "m1", "executor_class": "c", "reporter": "feeder",
      "timestamp": NOW - 1}),
    ("a release by its owner", recording.release("j1", "declined", AuditStamp("validator", "service", "c"), NOW),
     {"job_uuid": "j1", "reason": "declined", "caller": "validator"}),
    ("a release by an admin", recording.release("j1", "cancelled", ADMIN, NOW),
     {"job_uuid": "j1", "reason": "cancelled", "caller": "ops", "caller_is_admin": True}),
]


@pytest.mark.parametrize("name, event, fields", CASES, ids=[case[0] for case in CASES])
def test_each_change_is_its_trace_line_and_reads_back(name, event, fields):
    assert (event.at, event.fields) == (NOW, fields)
    [read_back] = read([json.dumps(HEADER), event.as_json()])
    assert (read_back.kind, read_back.at, read_back.fields) == (event.kind, NOW, json.loads(json.dumps(fields)))
