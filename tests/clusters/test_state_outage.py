"""PostgreSQL goes away under a running organism, then comes back.

While it is out, every write answers `503 StoreUnavailable` and acknowledges
nothing; what is served from memory (resolves, rules, the registry) keeps
answering. Once it is back, writes work again without a restart, and nothing
refused during the outage was applied: the only slot is still free, the epoch
did not move.
"""

import httpx
import pytest

from routing_cli.ingress import ingress_mode
from tests.clusters.lone_cluster import lone_cluster
from tests.miners import job, load_miners
from tests.postgres import throwaway_postgres
from tests.stack import ADMIN_HEADERS, eventually

RULE = {"task_type": "outage_probe", "domain": None, "logical_id": "actuator_organ_1"}
WRITES = [
    ("the block", "PUT", "/chain", {"block": 30}),
    ("a pick", "POST", "/jobs/route", job()),
    ("a rule", "PUT", "/routing/rules", {"add": [RULE]}),
    ("an epoch rotation", "POST", "/registry/epoch", None),
]
READS = [
    ("a resolve", "POST", "/resolve-route", {"task": {"type": "graph_embed"}}),
    ("the rules", "GET", "/routing/rules", None),
    ("the registry", "GET", "/registry", None),
]


@pytest.fixture(scope="module")
def outage():
    with throwaway_postgres() as server, lone_cluster(ingress_mode(), env={"ROUTING_STATE_DSN": server.dsn}) as cluster:
        client = httpx.Client(base_url=cluster.base_url + "/organism", headers=ADMIN_HEADERS, timeout=30)
        eventually(lambda: client.get("/health").status_code == 200, timeout_s=120)
        assert client.put("/chain", json={"block": 25}).status_code == 200
        load_miners(client, {"only": 1}, "outage")  # one slot
        epoch = client.get("/registry").json()["epoch"]
        server.stop()
        yield client, epoch, server


@pytest.mark.parametrize("what, method, path, body", WRITES, ids=[w[0] for w in WRITES])
def test_a_write_while_the_database_is_out_is_refused(outage, what, method, path, body):
    client, _, _ = outage
    refused = client.request(method, path, json=body)
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["type"] == "StoreUnavailable"
    assert refused.headers["retry-after"] == "1"


@pytest.mark.parametrize("what, method, path, body", READS, ids=[r[0] for r in READS])
def test_what_memory_holds_is_still_served(outage, what, method, path, body):
    client, _, _ = outage
    assert client.request(method, path, json=body).status_code == 200


def test_once_it_is_back_writes_work_and_nothing_refused_was_applied(outage):
    client, epoch, server = outage
    server.start()
    eventually(lambda: client.put("/chain", json={"block": 31}).status_code == 200, timeout_s=30)
    routed = client.post("/jobs/route", json=job())
    assert routed.status_code == 200, routed.text  # the refused pick holds no slot
    assert client.get("/registry").json()["epoch"] == epoch
    assert RULE not in client.get("/routing/rules").json()["rules"]
