"""The running stack records its own routing inputs: `routing trace export` (through HTTP, admin only) writes
them as a trace whose replay gives the live answers, miner for miner and refusal for refusal."""

import io

import httpx

from organism.jobs.simulation.replay import Simulation
from organism.jobs.simulation.report import report
from organism.jobs.simulation.trace import read
from routing_cli.trace_export import export
from tests.miners import CLASS, job, load_miners
from tests.stack import ADMIN_HEADERS, SERVICE_HEADERS, OrganismStack


def test_an_exported_trace_replays_to_the_live_answers(organism: OrganismStack):
    client = organism.client
    assert client.put("/chain", json={"block": 25}).status_code == 200
    hotkeys = load_miners(client, {"a": 2, "b": 1}, "trace")
    answers = [client.post("/jobs/route", json=job(), headers=SERVICE_HEADERS).json() for _ in range(5)]
    booked = [a for a in answers if "miner" in a]
    assert len(booked) == 3 and len(answers) - len(booked) == 2, answers  # three slots, then busy
    first = booked[0]
    elsewhere = next(a for a in booked if a["miner"]["hotkey"] != first["miner"]["hotkey"])
    for kind, routed in (("started", elsewhere), ("finished", elsewhere), ("declined", first)):  # a slot free elsewhere
        receipt = {"job_uuid": routed["job_uuid"], "hotkey": routed["miner"]["hotkey"], "executor_class": CLASS}
        assert client.post("/receipts", json={"kind": kind, **receipt}).status_code == 200
    again = client.post("/jobs/route", json=job(uuid=first["job_uuid"]), headers=SERVICE_HEADERS)
    assert again.status_code == 200 and again.json()["miner"]["hotkey"] != first["miner"]["hotkey"], again.text

    refused = client.get("/jobs/trace", headers=SERVICE_HEADERS)
    assert (refused.status_code, refused.json()["error"]["type"]) == (403, "Forbidden")  # the log is the admin's
    out = io.StringIO()
    with httpx.Client(base_url=organism.base_url, headers=ADMIN_HEADERS, timeout=30) as http:
        assert export(http, 0.0, out) > 0
    figures = report(Simulation().run(read(io.StringIO(out.getvalue()))), "exported")
    assert figures.live_differed == []
    assert figures.live_matched == 6  # every pick of this module's stack
    assert {m.hotkey for m in figures.miners if m.bookings} <= set(hotkeys)
