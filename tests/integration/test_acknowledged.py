"""Acknowledged means everywhere: after a change's 2xx, no replica answers anything it contradicts.

Two OrganismManager and two Coordinator replicas on the shared cluster; each
case of `tests.acknowledged` runs for dozens of rounds, and then with one
organism replica made slow (it hears nothing from the registry) and one cut
off (it cannot reach it at all). The module runs again on PostgreSQL.
"""

import time

import pytest
from ray import serve

from organism.control_plane import ACK_BOUND_S
from tests.acknowledged import COORDINATOR_ARGS, DEFAULT, RULED, TYPE, Probe
from tests.stack import deploy_full_stack, eventually, tear_down_full_stack

pytestmark = pytest.mark.backend  # run again on PostgreSQL: what it tests depends on the state backend
ROUNDS = 24


@pytest.fixture(scope="module")
def probe(serve_url: str, tmp_path_factory: pytest.TempPathFactory):
    stack = deploy_full_stack(serve_url, tmp_path_factory.mktemp("acknowledged"), coordinator_replicas=2,
                              **COORDINATOR_ARGS)
    probe = Probe(serve_url)
    probe.prepare()
    yield probe
    probe.close()
    tear_down_full_stack(stack)


@pytest.mark.parametrize("case", Probe.CASES)
def test_no_replica_contradicts_an_acknowledged_change(probe, case):
    for round_ in range(ROUNDS):
        getattr(probe, case)(round_)
    assert probe.stale == []
    assert len({r for path, r in probe.replicas if path == "organism"}) == 2
    assert len({r for path, r in probe.replicas if path == "pipeline"}) == 2


@pytest.mark.parametrize("cut", [False, True], ids=["slow", "cut-off"])
def test_a_late_replica_is_named_and_then_answers_nothing_older(probe, cut):
    def both_organism_replicas_current() -> bool:  # a replica held before is back and acknowledging
        replicas = [r for r in probe.admin.get("/organism/control-plane").json()["replicas"] if r["kind"] == "organism"]
        return len(replicas) == 2 and all(r["lag_versions"] == 0 and r["seen_s_ago"] < 2 for r in replicas)

    eventually(both_organism_replicas_current, 30)
    organism = serve.get_app_handle("organism")
    held = organism.hold_control_plane.remote(ACK_BOUND_S + 10, cut).result()
    domain = f"held-{cut}"
    started = time.monotonic()
    response = probe.admin.put("/organism/routing/rules",
                               json={"add": [{"task_type": TYPE, "domain": domain, "logical_id": RULED}]})
    took = time.monotonic() - started
    assert response.status_code == 200 and took <= ACK_BOUND_S + 1.0, (response.text, took)
    assert held in response.headers.get("x-control-plane-late", ""), (held, dict(response.headers), took)
    version = int(response.headers["x-control-plane-version"])
    answers = [probe.service.post("/organism/resolve-route", json={"task": {"type": TYPE, "domain": domain}})
               for _ in range(12)]
    from_held = [a for a in answers if held.endswith(a.headers["x-replica-id"])]
    assert from_held, "the held replica answered none of the reads"
    for answer in answers:
        if answer.status_code == 200:
            assert answer.json()["logical_id"] == RULED and int(answer.headers["x-control-plane-version"]) >= version
        else:  # only the replica cut off from the registry refuses, and says why
            assert cut and held.endswith(answer.headers["x-replica-id"]), answer.text
            assert (answer.status_code, answer.json()["error"]["type"]) == (503, "StaleReplica")
    assert cut == any(a.status_code == 503 for a in from_held)
    probe.admin.put("/organism/routing/rules", json={"remove": [{"task_type": TYPE, "domain": domain}]})
    eventually(lambda: DEFAULT == probe.service.post(
        "/organism/resolve-route", json={"task": {"type": TYPE, "domain": domain}}).json().get("logical_id"), 30)
