"""The trace format: what reads, and each kind of bad line stopped with its line number."""

import io
import json

import pytest

from organism.jobs.simulation.trace import HEADER, Event, TraceError, read, write

HEAD = json.dumps(HEADER)
MINER = '{"kind": "miner", "at": 10, "hotkey": "a", "address": "10.0.0.1", "port": 8000, "ip_version": 4, "collateral_wei": "5"}'
ROUTE = ('{"kind": "route", "at": 11, "job": {"job_uuid": "j", "executor_class": "always_on.test", "download_time_limit": 1,'
         ' "execution_time_limit": 2, "upload_time_limit": 3, "streaming_start_time_limit": 4, "on_trusted_miner": false},'
         ' "then": [{"outcome": "finished", "run_s": 5}], "attempts": 2}')

BAD = [
    ("malformed line", [HEAD, MINER, "{kind: block}"], 3, "not JSON"),
    ("truncated line", [HEAD, MINER, ROUTE[:60]], 3, "truncated"),
    ("unknown version", ['{"trace": "routing-jobs", "version": 2}', MINER], 1, "version 2 is not supported"),
    ("no header", [MINER], 1, "not a routing trace"),
    ("empty file", [], 1, "not a routing trace"),
    ("unknown event kind", [HEAD, '{"kind": "teleport", "at": 1}'], 2, "unknown event kind 'teleport'"),
    ("a JSON array", [HEAD, "[1, 2]"], 2, "not a JSON object"),
    ("no time", [HEAD, '{"kind": "block", "block": 5}'], 2, "lacks a numeric at"),
    ("a field missing", [HEAD, '{"kind": "block", "at": 1}'], 2, "lacks block"),
    ("a field of the wrong type", [HEAD, '{"kind": "block", "at": 1, "block": "five"}'], 2, "block has the wrong type"),
    ("a bool for an int", [HEAD, '{"kind": "block", "at": 1, "block": true}'], 2, "wrong type"),
    ("back in time", [HEAD, MINER, '{"kind": "block", "at": 9, "block": 5}'], 3, "runs back in time"),
    ("a bad job", [HEAD, ROUTE.replace('"download_time_limit": 1', '"download_time_limit": "1"')], 2, "job.download_time_limit"),
    ("a bad reaction", [HEAD, ROUTE.replace('"finished"', '"vanished"')], 2, "then.0.outcome"),
    ("a bad manifest row", [HEAD, '{"kind": "manifests", "at": 1, "manifests": [{"hotkey": "a"}]}'], 2, "manifests.0.lacks"),
    ("a bad receipt kind", [HEAD, '{"kind": "receipt", "at": 1, "receipt_kind": "lost", "job_uuid": "j", "hotkey": "a",'
                                  ' "executor_class": "c"}'], 2, "receipt_kind 'lost'"),
]


@pytest.mark.parametrize("name, lines, line, problem", BAD, ids=[case[0] for case in BAD])
def test_a_bad_line_stops_the_reading_with_its_number(name, lines, line, problem):
    with pytest.raises(TraceError) as raised:
        list(read(lines))
    assert raised.value.line == line
    assert problem in str(raised.value)


def test_events_before_a_bad_line_are_read_and_nothing_after_it():
    read_so_far = []
    with pytest.raises(TraceError):
        for event in read([HEAD, MINER, "{", ROUTE]):
            read_so_far.append(event.kind)
    assert read_so_far == ["miner"]


def test_what_is_written_reads_back_the_same():
    route = {k: v for k, v in json.loads(ROUTE).items() if k not in ("kind", "at")}
    events = [Event("block", 1.0, {"block": 5}), Event("route", 2.0, route)]
    out = io.StringIO()
    assert write(out, events) == 2
    back = list(read(out.getvalue().splitlines()))
    assert [(e.kind, e.at, e.fields) for e in back] == [(e.kind, e.at, e.fields) for e in events]
    assert [e.line for e in back] == [2, 3]


def test_blank_lines_are_skipped_and_counted():
    assert [e.line for e in read([HEAD, "", MINER])] == [3]
