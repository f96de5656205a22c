"""Trust over a long life: jobs are their caller's, facts cannot invent history, a refusal means not applied.

A second service caller cannot release, decline or fail the first one's job
(403, no incident, nothing changed); the feeder's decline receipts for jobs
never routed here record no incident; one caller declining every job demotes
a miner but never blacklists it; an automatic blacklist names its cause in the
audit trail. With the picker made slow on purpose, a pick or a change it has
no time for answers 503 and is withdrawn: nothing of it is applied, ever;
listings, dry runs and the audit trail answer meanwhile (read beside its queue).
"""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from ray import serve

from contracts.identity import Role
from tests.miners import CLASS, job, load_miners
from tests.stack import ADMIN_HEADERS, FACTS_HEADERS, SERVICE_HEADERS, deploy_organism, tear_down_organism
from tests.tokens import SIGNER

pytestmark = pytest.mark.backend  # run again on PostgreSQL: what it tests depends on the state backend
OTHER_SERVICE = {"Authorization": f"Bearer {SIGNER.mint('another-validator', Role.SERVICE)}"}
PICKER_BUDGET_S = 1.0


@pytest.fixture(scope="module")
def clients(serve_url: str, tmp_path_factory: pytest.TempPathFactory):
    stack = deploy_organism(serve_url, tmp_path_factory.mktemp("trust"), picker_call_timeout_s=PICKER_BUDGET_S)
    base = stack.client.base_url
    made = {role: httpx.Client(base_url=base, headers=headers, timeout=30) for role, headers in (
        ("service", SERVICE_HEADERS), ("other", OTHER_SERVICE), ("facts", FACTS_HEADERS), ("admin", ADMIN_HEADERS))}
    assert made["facts"].put("/chain", json={"block": 25}).status_code == 200
    assert made["admin"].patch("/config", json={"DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS": 600,
                                                 "DYNAMIC_INCIDENTS_TO_BLACKLIST": 3}).status_code == 200
    yield made
    for client in made.values():
        client.close()
    tear_down_organism(stack)


@pytest.fixture(autouse=True)
def only_this_tests_miner(clients):
    """Each test picks among its own miner only (the others deregistered: their jobs stay)."""
    for listed in clients["service"].get("/miners", params={"limit": 1000}).json()["miners"]:
        assert clients["facts"].delete(f"/miners/{listed['hotkey']}").status_code == 204


def miner(clients, name: str, online: int = 20) -> str:
    return load_miners(clients["facts"], {name: online}, f"trust-{uuid.uuid4().hex[:6]}")[0]


@pytest.mark.parametrize("reason", ["declined", "failed", "timeout", "cancelled"])
def test_another_service_cannot_end_a_job_that_is_not_its_own(clients, reason):
    hotkey = miner(clients, "a")
    spec = job()
    assert clients["service"].post("/jobs/route", json=spec).json()["miner"]["hotkey"] == hotkey
    refused = clients["other"].post(f"/jobs/{spec['uuid']}/release", json={"reason": reason})
    assert (refused.status_code, refused.json()["error"]["type"]) == (403, "NotJobOwner")
    assert clients["other"].post("/jobs/route", json=spec).status_code == 403  # nor route it again
    assert clients["service"].get(f"/jobs/{spec['uuid']}").json()["state"] == "reserved"
    assert clients["service"].get(f"/miners/{hotkey}").json()["incidents"] == []
    assert clients["admin"].post(f"/jobs/{spec['uuid']}/release", json={"reason": reason}).status_code == 200


def test_the_feeders_declines_of_jobs_never_routed_here_record_no_incident(clients):
    hotkey = miner(clients, "b")
    for _ in range(10):
        receipt = {"kind": "declined", "job_uuid": str(uuid.uuid4()), "hotkey": hotkey, "executor_class": CLASS}
        assert clients["facts"].post("/receipts", json=receipt).status_code == 200
    status = clients["service"].get(f"/miners/{hotkey}").json()
    assert (status["incidents"], status["blacklist"]) == ([], None)


def test_one_caller_alone_demotes_but_never_blacklists_and_two_do_with_their_cause_audited(clients):
    hotkey = miner(clients, "c")
    for _ in range(6):  # one caller declines every job it routes
        spec = job()
        assert clients["service"].post("/jobs/route", json=spec).json()["miner"]["hotkey"] == hotkey
        assert clients["service"].post(f"/jobs/{spec['uuid']}/release", json={"reason": "declined"}).status_code == 200
    status = clients["service"].get(f"/miners/{hotkey}").json()
    assert status["recent_incidents"] == 6 and status["blacklist"] is None
    spec = job()
    assert clients["other"].post("/jobs/route", json=spec).json()["miner"]["hotkey"] == hotkey
    assert clients["other"].post(f"/jobs/{spec['uuid']}/release", json={"reason": "failed"}).status_code == 200
    assert clients["service"].get(f"/miners/{hotkey}").json()["blacklist"]["reason"].startswith("auto: ")
    entry = clients["admin"].get("/audit", params={"action": "miner.blacklist.auto"}).json()["entries"][0]
    assert (entry["target"], entry["subject"]) == (hotkey, "incident rule")
    assert {i["reported_by"] for i in entry["after"]["incidents"]} == {"tests", "another-validator"}
    assert spec["uuid"] in {i["job_uuid"] for i in entry["after"]["incidents"]}


def test_what_the_picker_had_no_time_for_is_withdrawn_and_never_applied(clients):
    hotkey = miner(clients, "d")
    config_before = clients["service"].get("/config").json()
    busy_s = PICKER_BUDGET_S + 2  # longer than a caller waits, its withdrawal included
    serve.get_app_handle("organism").hold_picker.remote(busy_s)  # busy: what follows queues behind it
    time.sleep(0.3)
    spec = job()
    with ThreadPoolExecutor(2) as pool:  # a pick and a change, both queued behind the busy picker
        pick = pool.submit(clients["service"].post, "/jobs/route", json=spec)
        patch = pool.submit(clients["admin"].patch, "/config", json={"DYNAMIC_INCIDENTS_TO_BLACKLIST": 9})
        answers = [pick.result(), patch.result()]
    for refused in answers:
        assert (refused.status_code, refused.json()["error"]["type"]) == (503, "PickerUnavailable"), refused.text
        assert "nothing was applied" in refused.json()["error"]["message"]
    time.sleep(busy_s)  # the picker is free again: had anything queued been applied, it would show now
    assert clients["service"].get(f"/jobs/{spec['uuid']}").status_code == 404
    assert clients["service"].get("/config").json() == config_before
    assert clients["service"].get(f"/miners/{hotkey}").json()["ongoing_jobs"] == {CLASS: 0}


def test_listings_dry_runs_and_the_audit_trail_answer_while_the_picker_is_busy(clients):
    hotkey = miner(clients, "e")
    serve.get_app_handle("organism").hold_picker.remote(PICKER_BUDGET_S + 3)  # anything queued now gets a 503
    time.sleep(0.3)
    reads = {
        "miners": clients["service"].get("/miners", params={"limit": 1000}),
        "miner": clients["service"].get(f"/miners/{hotkey}"),
        "dry run": clients["service"].post("/jobs/route", params={"dry_run": "true"}, json=job()),
        "audit": clients["admin"].get("/audit", params={"action": "miner."}),
    }
    assert {name: answer.status_code for name, answer in reads.items()} == dict.fromkeys(reads, 200)
    assert reads["dry run"].json()["miner"]["hotkey"] == hotkey
    assert [listed["hotkey"] for listed in reads["miners"].json()["miners"]] == [hotkey]
    newest = reads["audit"].json()["entries"][0]
    assert (newest["action"], newest["target"]) == ("miner.register", hotkey)
    time.sleep(PICKER_BUDGET_S + 3)
