"""Job routing through both OrganismManager replicas and the MinerPicker actor."""

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
import ray

from tests.miners import CLASS, job, load_miners
from tests.stack import ADMIN_HEADERS, OrganismStack

pytestmark = pytest.mark.backend  # run again on PostgreSQL: what it tests depends on the state backend


@pytest.fixture(scope="module")
def ready(organism: OrganismStack) -> httpx.Client:
    client = organism.client
    assert client.put("/chain", json={"block": 25}).status_code == 200
    # long reservations: the tests below count bookings, not expiry
    patched = client.patch("/config", json={"DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS": 600})
    assert patched.status_code == 200, patched.text
    return client


def test_route_a_job_and_replay_it(ready: httpx.Client):
    (hotkey,) = load_miners(ready, {"solo": 2}, "replay")
    request = job()
    first = ready.post("/jobs/route", json=request)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["miner"] == {"hotkey": hotkey, "address": "127.0.0.1", "port": 9000, "ip_version": 4}
    assert (body["reason"], body["replayed"], body["job_uuid"]) == ("selected", False, request["uuid"])
    assert body["reservation_expires_at"] > 0
    again = ready.post("/jobs/route", json=request).json()
    assert (again["miner"]["hotkey"], again["replayed"]) == (hotkey, True)
    status = {m["hotkey"]: m for m in ready.get("/miners").json()["miners"]}[hotkey]
    assert status["ongoing_jobs"] == {CLASS: 1} and status["free_slots"] == {CLASS: 1}
    assert status["collateral_wei"] == "20000000000000000"


def test_dry_run_ranks_without_booking(ready: httpx.Client):
    hotkeys = load_miners(ready, {"one": 1}, "dry")
    response = ready.post("/jobs/route", params={"dry_run": "true"}, json=job())
    assert response.status_code == 200
    assert response.json()["reservation_expires_at"] is None and "ranking" in response.json()["explain"]
    status = {m["hotkey"]: m for m in ready.get("/miners").json()["miners"]}[hotkeys[0]]
    assert status["ongoing_jobs"] == {CLASS: 0}


def test_refusals_say_why(ready: httpx.Client):
    stale = ready.post("/jobs/route", json=job(executor_class="always_on.llm.a6000"))
    assert stale.status_code == 409 and stale.json()["error"]["type"] == "NoMinerForExecutorType"
    assert "explain" in stale.json()["error"]["details"]
    ready.patch("/config", json={"DYNAMIC_ALLOW_CROSS_CYCLE_ORGANIC_JOBS": False})
    try:
        too_long = ready.post("/jobs/route", json=job(execution_time_limit=100_000))
        assert too_long.status_code == 409
        error = too_long.json()["error"]
        assert error["type"] == "NotEnoughTimeInCycle"
        assert error["details"]["remaining_seconds"] < error["details"]["required_seconds"]
    finally:
        ready.patch("/config", json={"DYNAMIC_ALLOW_CROSS_CYCLE_ORGANIC_JOBS": True})


def test_all_busy_is_503_with_retry_after(ready: httpx.Client):
    busy = load_miners(ready, {"one": 1}, "busy")
    ready.patch("/config", json={"DEBUG_MINER_KEY": None})
    # book every free slot of every miner loaded so far, then one more
    answers = [ready.post("/jobs/route", json=job()) for _ in range(20)]
    last = answers[-1]
    assert last.status_code == 503, last.text
    assert last.headers["retry-after"] == "600"
    assert last.json()["error"]["type"] == "AllMinersBusy"
    assert busy[0] in {a.json()["miner"]["hotkey"] for a in answers if a.status_code == 200}


def test_data_routes_validate_and_404_unknown_miners(ready: httpx.Client):
    cases = [
        ("post", "/jobs/route", job(uuid="not-a-uuid"), 422, "uuid"),
        ("post", "/jobs/route", job(download_time_limit=-1), 422, "download_time_limit"),
        ("post", "/jobs/route", job(executor_class="gpu.galaxy"), 422, "executor_class"),
        ("put", "/miners/x", {"address": "a", "port": 0}, 422, "port"),
        ("put", "/miners/x", {"address": "a", "port": 1, "collateral_wei": 1.5e18}, 422, "collateral_wei"),
        ("patch", "/config", {"NOT_A_KEY": 1}, 422, "NOT_A_KEY"),
        ("patch", "/config", {"DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING": "yes"}, 422, "DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING"),
        ("patch", "/config", {"DEBUG_MINER_KEY": "nobody"}, 422, "DEBUG_MINER_KEY"),
        ("post", "/manifests", {"manifests": [{"hotkey": "x", "executor_class": CLASS, "online_executor_count": 3, "executor_count": 1}]}, 422, "manifests.0"),
        ("put", "/allowances", {"cycle": {"start": 5, "stop": 1}, "allowances": [{"hotkey": "x", "initial": 1, "remaining": 1}]}, 422, "cycle"),
    ]
    for method, path, body, status, field in cases:
        response = getattr(ready, method)(path, json=body)
        assert response.status_code == status, (path, body, response.text)
        assert any(d["field"].startswith(field) for d in response.json()["error"]["details"]), (path, response.text)
    for method, path, body in [
        ("post", "/miners/ghost/blacklist", {"reason": "x", "duration_s": None}),
        ("post", "/manifests", {"manifests": [{"hotkey": "ghost", "executor_class": CLASS, "online_executor_count": 1, "executor_count": 1}]}),
        ("post", "/receipts", {"kind": "started", "job_uuid": str(uuid.uuid4()), "hotkey": "ghost"}),
    ]:
        response = getattr(ready, method)(path, json=body)
        assert response.status_code == 404 and "ghost" in response.json()["error"]["message"], response.text


def test_eighteen_decimal_collateral_keeps_every_digit(ready: httpx.Client):
    wei = "123456789012345678901234567"
    assert ready.put("/miners/precise", json={"address": "h", "port": 1, "collateral_wei": wei}).json()["collateral_wei"] == wei
    assert ready.put("/miners/precise", json={"address": "h", "port": 1, "collateral_wei": int(wei)}).json()["collateral_wei"] == wei


def test_blacklist_then_lift(ready: httpx.Client):
    (hotkey,) = load_miners(ready, {"bl": 5}, "blacklist")
    entry = ready.post(f"/miners/{hotkey}/blacklist", json={"reason": "late", "duration_s": None})
    assert entry.status_code == 200 and entry.json()["expires_at"] is None
    status = {m["hotkey"]: m for m in ready.get("/miners").json()["miners"]}[hotkey]
    assert status["blacklist"]["reason"] == "late"
    assert ready.delete(f"/miners/{hotkey}/blacklist").status_code == 204
    status = {m["hotkey"]: m for m in ready.get("/miners").json()["miners"]}[hotkey]
    assert status["blacklist"] is None


async def _route_many(base_url: str, jobs: list[dict[str, Any]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits, headers=ADMIN_HEADERS) as client:
        return await asyncio.gather(*(client.post("/jobs/route", json=j) for j in jobs))


def _bookings(responses: list[httpx.Response]) -> Counter:
    return Counter(r.json()["miner"]["hotkey"] for r in responses if r.status_code == 200)


def test_concurrent_picks_through_both_replicas_never_overbook(ready: httpx.Client, organism: OrganismStack):
    slots = {"a": 3, "b": 5, "c": 2, "d": 4}
    hotkeys = load_miners(ready, slots, "race")
    # make every other miner loaded by earlier tests ineligible: blacklist them
    for m in ready.get("/miners").json()["miners"]:
        if m["hotkey"] not in hotkeys:
            ready.post(f"/miners/{m['hotkey']}/blacklist", json={"reason": "race test", "duration_s": 300})
    responses = asyncio.run(_route_many(organism.base_url + "/organism", [job() for _ in range(200)]))
    assert {r.status_code for r in responses} <= {200, 503}
    booked = _bookings(responses)
    assert booked == Counter({f"race-{name}": n for name, n in slots.items()})  # every slot, never more
    replicas = {r.headers["x-replica-id"] for r in responses}
    assert len(replicas) == 2  # both replicas took part


def test_killed_picker_loses_no_booking_or_fact(ready: httpx.Client, organism: OrganismStack):
    slots = {"x": 4, "y": 4}
    hotkeys = load_miners(ready, slots, "kill")
    for m in ready.get("/miners").json()["miners"]:
        if m["hotkey"] not in hotkeys:
            ready.post(f"/miners/{m['hotkey']}/blacklist", json={"reason": "kill test", "duration_s": 300})
    before = asyncio.run(_route_many(organism.base_url + "/organism", [job() for _ in range(5)]))
    replay_of = next(r for r in before if r.status_code == 200)
    picker = ray.get_actor(organism.settings.picker_actor_name, namespace=organism.settings.namespace)
    ray.kill(picker, no_restart=False)
    after = asyncio.run(_route_many(organism.base_url + "/organism", [job() for _ in range(20)]))
    assert {r.status_code for r in after} <= {200, 503}
    booked = _bookings(before) + _bookings(after)
    assert booked == Counter({h: 4 for h in hotkeys})  # 8 slots, booked once each across the restart

    miners = {m["hotkey"]: m for m in ready.get("/miners").json()["miners"]}
    assert all(miners[h]["manifests"][CLASS]["online_executor_count"] == 4 for h in hotkeys)
    assert all(miners[h]["allowance"]["initial"] == 10_000 for h in hotkeys)
    assert ready.get("/config").json()["DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS"] == 600
    assert ready.get("/chain").json()["reported_block"] == 25
    replayed = ready.post("/jobs/route", json={**job(), "uuid": replay_of.json()["job_uuid"]}).json()
    assert replayed["replayed"] and replayed["miner"] == replay_of.json()["miner"]


def test_started_receipt_deducts_allowance_once(ready: httpx.Client):
    (hotkey,) = load_miners(ready, {"rcpt": 3}, "receipt")
    for m in ready.get("/miners").json()["miners"]:
        if m["hotkey"] != hotkey:
            ready.post(f"/miners/{m['hotkey']}/blacklist", json={"reason": "receipt test", "duration_s": 300})
    routed = ready.post("/jobs/route", json=job()).json()
    receipt = {"kind": "started", "job_uuid": routed["job_uuid"], "hotkey": hotkey, "executor_class": CLASS}
    for _ in range(2):
        stored = ready.post("/receipts", json=receipt)
        assert stored.status_code == 200 and stored.json()["ttl_s"] > 0
    status = {m["hotkey"]: m for m in ready.get("/miners").json()["miners"]}[hotkey]
    assert status["allowance"]["remaining"] == 10_000 - 40
    assert status["ongoing_jobs"] == {CLASS: 1}
    ready.post("/receipts", json={**receipt, "kind": "finished"})
    status = {m["hotkey"]: m for m in ready.get("/miners").json()["miners"]}[hotkey]
    assert status["ongoing_jobs"] == {CLASS: 0}
