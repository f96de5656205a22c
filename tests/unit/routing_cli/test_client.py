"""The command line's tables: columns as wide as their widest cell, `-` for nothing; a routing report as a table."""

import argparse

import httpx

from routing_cli.client import report, table


def test_a_table_without_rows_is_its_header():
    assert table(["at", "subject"], []) == "AT  SUBJECT"
    assert table(["a", "b"], [("x", None)]).splitlines() == ["A  B", "x  -"]


REPORT = {"job_uuid": "j", "reports": [{
    "decided_at": 0.0, "block": 25, "control_version": 7, "compact": False, "omitted": 0, "judged": 2,
    "outcome": {"kind": "selected", "hotkey": "b", "slot": 0, "refusal": None},
    "candidates": [
        {"hotkey": "a", "rank": 0, "chosen": False, "verdicts": [{"filter": "free_slot", "passed": False, "reason": "busy"}]},
        {"hotkey": "b", "rank": 1, "chosen": True, "verdicts": [{"filter": "free_slot", "passed": True, "reason": None}]}]}]}


def test_a_routing_report_is_a_line_per_pick_and_a_row_per_miner():
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=REPORT))
    with httpx.Client(transport=transport, base_url="http://stack") as http:
        _, shown = report(http, argparse.Namespace(uuid="j"))
    assert shown.splitlines() == [
        "1970-01-01 00:00:00 UTC, block 25, version 7: selected b slot 0",
        "HOTKEY  RANK  CHOSEN  VERDICT",
        "a       0     -       free_slot: busy",
        "b       1     yes     passed free_slot",
    ]
