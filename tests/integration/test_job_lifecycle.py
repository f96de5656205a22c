"""A job's whole life over HTTP, each role doing its part: the validator (service) routes,
reads and releases; the feeder (facts) posts miners, manifests, allowances, receipts and the
chain; the operator (admin) configures. Status and history, release and routing again after a
decline, the allowance held while routing under 200 concurrent picks, incidents that blacklist,
a stale block report, executor classes from the dynamic config, deregistration."""

import asyncio
import time
import uuid
from collections import Counter

import httpx
import pytest

from tests.miners import CLASS, job
from tests.stack import (
    ADMIN_HEADERS,
    FACTS_HEADERS,
    SERVICE_HEADERS,
    OrganismStack,
)

pytestmark = pytest.mark.backend  # run again on PostgreSQL: what it tests depends on the state backend

CYCLE = {"start": -14, "stop": 708}


@pytest.fixture(scope="module")
def clients(organism: OrganismStack):
    base = organism.client.base_url
    made = {role: httpx.Client(base_url=base, headers=headers, timeout=30)
            for role, headers in (("service", SERVICE_HEADERS), ("facts", FACTS_HEADERS), ("admin", ADMIN_HEADERS))}
    assert made["facts"].put("/chain", json={"block": 25}).status_code == 200
    patched = made["admin"].patch("/config", json={"DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS": 600})
    assert patched.status_code == 200, patched.text
    return made


@pytest.fixture(autouse=True)
def only_this_tests_miners(clients):
    """Each test starts with no registered miner (deregistered: their jobs stay)."""
    for miner in clients["service"].get("/miners", params={"limit": 1000}).json()["miners"]:
        assert clients["facts"].delete(f"/miners/{miner['hotkey']}").status_code == 204


def feed(facts: httpx.Client, prefix: str, miners: dict[str, tuple[int, float]]) -> list[str]:
    """Register miners: name -> (online executors, allowance remaining); initial 1,000 s each."""
    hotkeys = []
    for name, (online, remaining) in miners.items():
        hotkey = f"{prefix}-{name}"
        hotkeys.append(hotkey)
        body = {"address": "10.0.0.1", "port": 9000, "collateral_wei": "20000000000000000"}
        assert facts.put(f"/miners/{hotkey}", json=body).status_code == 200
        manifest = {"hotkey": hotkey, "executor_class": CLASS, "online_executor_count": online, "executor_count": online}
        assert facts.post("/manifests", json={"manifests": [manifest]}).status_code == 200
        allowance = {"hotkey": hotkey, "initial": 1000, "remaining": remaining}
        assert facts.put("/allowances", json={"cycle": CYCLE, "allowances": [allowance]}).status_code == 200
    return hotkeys


def states(service: httpx.Client, job_uuid: str) -> tuple[str, list[str]]:
    body = service.get(f"/jobs/{job_uuid}").json()
    return body["state"], [event["state"] for event in body["history"]]


def test_a_job_reserved_running_finished_with_its_history(clients):
    service, facts = clients["service"], clients["facts"]
    (hotkey,) = feed(facts, "life", {"a": (2, 1000)})
    spec = job()
    assert service.post("/jobs/route", json=spec).status_code == 200
    body = service.get(f"/jobs/{spec['uuid']}").json()
    assert (body["state"], body["miner"]["hotkey"], body["miner"]["address"]) == ("reserved", hotkey, "10.0.0.1")
    assert body["allowance_held"] is True and body["executor_seconds"] == 40
    receipt = {"job_uuid": spec["uuid"], "hotkey": hotkey, "executor_class": CLASS}
    assert facts.post("/receipts", json={"kind": "started", **receipt}).status_code == 200
    assert states(service, spec["uuid"]) == ("running", ["reserved", "running"])
    assert facts.post("/receipts", json={"kind": "finished", **receipt}).status_code == 200
    assert states(service, spec["uuid"]) == ("finished", ["reserved", "running", "finished"])
    unknown = service.get(f"/jobs/{uuid.uuid4()}")
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "UnknownJob"


def test_release_frees_the_slot_and_routing_again_after_a_decline_avoids_that_miner(clients):
    service, facts = clients["service"], clients["facts"]
    first, second = feed(facts, "decline", {"a": (1, 1000), "b": (1, 500)})  # a ranks first
    spec = job()
    assert service.post("/jobs/route", json=spec).json()["miner"]["hotkey"] == first
    released = service.post(f"/jobs/{spec['uuid']}/release", json={"reason": "declined"})
    assert released.status_code == 200 and released.json()["state"] == "declined"
    again = service.post(f"/jobs/{spec['uuid']}/release", json={"reason": "declined"})
    assert again.json() == released.json()  # idempotent
    rerouted = service.post("/jobs/route", json=spec).json()
    assert (rerouted["miner"]["hotkey"], rerouted["replayed"]) == (second, False)
    assert states(service, spec["uuid"]) == ("reserved", ["reserved", "declined", "reserved"])
    assert service.post("/jobs/route", json=job()).json()["miner"]["hotkey"] == first  # its slot is free again
    miner = service.get(f"/miners/{first}").json()
    assert miner["recent_incidents"] == 1 and miner["incidents"][0]["kind"] == "declined"
    bad = service.post(f"/jobs/{spec['uuid']}/release", json={"reason": "bored"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "reason"


def test_two_hundred_concurrent_picks_book_exactly_what_the_allowance_holds(clients):
    service, facts = clients["service"], clients["facts"]
    # 40 s per job, more than 40 s must be left: 121 s fits 3 jobs, 81 s 2, 41 s 1
    hotkeys = feed(facts, "hold", {"a": (500, 121), "b": (500, 81), "c": (500, 41)})

    async def pick_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=service.base_url, headers=SERVICE_HEADERS, timeout=60,
                                     limits=httpx.Limits(max_connections=64)) as client:
            return await asyncio.gather(*(client.post("/jobs/route", json=job()) for _ in range(200)))

    answers = asyncio.run(pick_all())
    booked = Counter(r.json()["miner"]["hotkey"] for r in answers if r.status_code == 200)
    refusals = Counter(r.json()["error"]["type"] for r in answers if r.status_code != 200)
    assert dict(booked) == {hotkeys[0]: 3, hotkeys[1]: 2, hotkeys[2]: 1}
    assert refusals == {"NoMinerWithEnoughAllowance": 194}
    held = {h: service.get(f"/miners/{h}").json()["allowance"]["held"] for h in hotkeys}
    assert held == {hotkeys[0]: 120, hotkeys[1]: 80, hotkeys[2]: 40}


def test_incidents_blacklist_a_miner_automatically(clients):
    service, facts, admin = clients["service"], clients["facts"], clients["admin"]
    assert admin.patch("/config", json={"DYNAMIC_INCIDENTS_TO_BLACKLIST": 2}).status_code == 200
    try:
        (hotkey,) = feed(facts, "flaky", {"a": (5, 1000)})
        declined, failed = job(), job()
        for spec in (declined, failed):
            assert service.post("/jobs/route", json=spec).json()["miner"]["hotkey"] == hotkey
        # two callers report: the feeder's receipt and the job's owner's release (one caller alone never blacklists)
        receipt = {"kind": "declined", "job_uuid": declined["uuid"], "hotkey": hotkey, "executor_class": CLASS}
        assert facts.post("/receipts", json=receipt).status_code == 200
        assert service.post(f"/jobs/{failed['uuid']}/release", json={"reason": "failed"}).status_code == 200
        miner = service.get(f"/miners/{hotkey}").json()
        assert miner["blacklist"]["reason"].startswith("auto: 2 incidents")
        assert [i["kind"] for i in miner["incidents"]] == ["declined", "failed"]
        assert service.get("/miners", params={"blacklisted": "true", "executor_class": CLASS}).json()["miners"][0]["hotkey"] == hotkey
    finally:
        admin.patch("/config", json={"DYNAMIC_INCIDENTS_TO_BLACKLIST": 5})


def test_a_stale_block_report_refuses_picks_until_the_feeder_reports_again(clients):
    service, facts, admin = clients["service"], clients["facts"], clients["admin"]
    feed(facts, "stale", {"a": (5, 1000)})
    assert admin.patch("/config", json={"DYNAMIC_MAX_BLOCK_REPORT_AGE_SECONDS": 1}).status_code == 200
    try:
        time.sleep(1.5)
        refused = service.post("/jobs/route", json=job())
        assert refused.status_code == 503 and refused.json()["error"]["type"] == "CurrentBlockStale"
        assert facts.put("/chain", json={"block": 25}).status_code == 200
        assert service.post("/jobs/route", json=job()).status_code == 200
    finally:
        admin.patch("/config", json={"DYNAMIC_MAX_BLOCK_REPORT_AGE_SECONDS": 120})


def test_executor_classes_come_from_the_dynamic_config(clients):
    service, facts, admin = clients["service"], clients["facts"], clients["admin"]
    (hotkey,) = feed(facts, "classes", {"a": (5, 1000)})
    manifest = {"hotkey": hotkey, "executor_class": "custom.h100", "online_executor_count": 2, "executor_count": 2}
    refused = facts.post("/manifests", json={"manifests": [manifest]})
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["field"] == "manifests.0.executor_class"
    classes = {**admin.get("/config").json()["EXECUTOR_CLASSES"], "custom.h100": 60}
    assert admin.patch("/config", json={"EXECUTOR_CLASSES": classes}).status_code == 200
    assert facts.post("/manifests", json={"manifests": [manifest]}).status_code == 200
    routed = service.post("/jobs/route", json=job(executor_class="custom.h100"))
    assert routed.status_code == 200 and routed.json()["miner"]["hotkey"] == hotkey
    unknown = service.post("/jobs/route", json=job(executor_class="custom.tpu"))
    assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["field"] == "executor_class"


def test_a_deregistered_miner_is_not_picked_and_its_jobs_stay(clients):
    service, facts = clients["service"], clients["facts"]
    (hotkey,) = feed(facts, "leaving", {"a": (5, 1000)})
    spec = job()
    assert service.post("/jobs/route", json=spec).status_code == 200
    assert facts.delete(f"/miners/{hotkey}").status_code == 204
    assert service.get(f"/miners/{hotkey}").status_code == 404
    kept = service.get(f"/jobs/{spec['uuid']}").json()
    assert (kept["miner"]["hotkey"], kept["miner"]["address"]) == (hotkey, None)
    listed = service.get("/jobs", params={"hotkey": hotkey}).json()
    assert [j["job_uuid"] for j in listed["jobs"]] == [spec["uuid"]] and listed["next_cursor"] is None


def test_jobs_are_listed_newest_first_in_pages(clients):
    service = clients["service"]
    seen, cursor = [], None
    while True:
        page = service.get("/jobs", params={"limit": 7, **({"cursor": cursor} if cursor else {})}).json()
        assert len(page["jobs"]) <= 7
        seen += page["jobs"]
        if (cursor := page["next_cursor"]) is None:
            break
    routed_at = [j["routed_at"] for j in seen]
    assert routed_at == sorted(routed_at, reverse=True) and len({j["job_uuid"] for j in seen}) == len(seen) > 7
    assert service.get("/jobs", params={"cursor": "garbage"}).json()["error"]["details"][0]["field"] == "cursor"
