"""A pick's routing report through the running stack: read back by the service that routed the job (and
no other), still there after the picker actor restarts; a dry run answers one in its explain; a resolution
explains itself in the same shape."""

import httpx
import pytest
import ray

from contracts.identity import Role
from tests.miners import job, load_miners
from tests.stack import SERVICE_HEADERS, OrganismStack, eventually
from tests.tokens import SIGNER

pytestmark = pytest.mark.backend  # run again on PostgreSQL: reports are kept in the state backend

OTHER_SERVICE = {"Authorization": f"Bearer {SIGNER.mint('another-validator', Role.SERVICE)}"}


def report_of(client: httpx.Client, job_uuid: str, headers: dict) -> httpx.Response:
    return client.get(f"/jobs/{job_uuid}/report", headers=headers)


def test_a_picks_report_is_retrievable_after_the_picker_restarts(organism: OrganismStack):
    client = organism.client
    assert client.put("/chain", json={"block": 25}).status_code == 200
    hotkeys = load_miners(client, {"a": 2, "b": 1}, "report")
    request = job()
    routed = client.post("/jobs/route", json=request, headers=SERVICE_HEADERS)
    assert routed.status_code == 200, routed.text

    first = report_of(client, request["uuid"], SERVICE_HEADERS)
    assert first.status_code == 200, first.text
    (kept,) = first.json()["reports"]
    assert kept["outcome"]["kind"] == "selected" and kept["outcome"]["hotkey"] == routed.json()["miner"]["hotkey"]
    assert kept["outcome"]["slot"] is not None and kept["block"] >= 25 and isinstance(kept["control_version"], int)
    assert kept["request"]["executor_class"] == request["executor_class"] and not kept["dry_run"]
    assert set(hotkeys) <= {c["hotkey"] for c in kept["candidates"]} or kept["compact"]
    refused = report_of(client, request["uuid"], OTHER_SERVICE)
    assert (refused.status_code, refused.json()["error"]["type"]) == (403, "NotJobOwner")

    picker = ray.get_actor(organism.settings.picker_actor_name, namespace=organism.settings.namespace)
    ray.kill(picker, no_restart=False)
    again = eventually(lambda: (r := report_of(client, request["uuid"], SERVICE_HEADERS)).status_code == 200 and r,
                       timeout_s=60)
    assert again.json() == first.json()


def test_a_dry_run_answers_a_report_and_keeps_none(organism: OrganismStack):
    client = organism.client
    assert client.put("/chain", json={"block": 25}).status_code == 200
    load_miners(client, {"c": 1}, "report-dry")
    request = job()
    tried = client.post("/jobs/route", params={"dry_run": "true"}, json=request, headers=SERVICE_HEADERS)
    assert tried.status_code == 200, tried.text
    shown = tried.json()["explain"]["report"]
    assert shown["dry_run"] and shown["outcome"]["hotkey"] == tried.json()["miner"]["hotkey"]
    missing = report_of(client, request["uuid"], SERVICE_HEADERS)
    assert (missing.status_code, missing.json()["error"]["type"]) == (404, "UnknownJob")


def test_a_resolution_explains_itself_in_the_same_shape(organism: OrganismStack):
    explained = organism.client.post("/resolve-route", params={"explain": "true"},
                                     json={"task": {"type": "graph_embed", "domain": "facts"}}, headers=SERVICE_HEADERS)
    assert explained.status_code == 200, explained.text
    body = explained.json()
    why = body["explain"]
    assert why["rule"] == {"resolved_from": "task", "matched": "graph_embed", "logical_id": "graph_dispatcher"}
    assert why["outcome"]["instance_id"] == body["instance_id"]
    chosen = [c for c in why["candidates"] if c["chosen"]]
    assert [c["instance_id"] for c in chosen] == ([body["instance_id"]] if body["instance_id"] else [])
    assert all(all(v["passed"] for v in c["verdicts"]) for c in chosen)
    plain = organism.client.post("/resolve-route", json={"task": {"type": "graph_embed"}}, headers=SERVICE_HEADERS)
    assert plain.json()["explain"] is None
