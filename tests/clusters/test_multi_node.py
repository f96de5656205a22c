"""A three-node Ray cluster on this machine, its state in PostgreSQL.

The head takes no work (`num-cpus 0`, as on KubeRay); two worker nodes carry
the organism's replicas; the detached actors (registry, picker, organs) spread
over all three. First a worker node dies under load: routes keep answering,
the organs it ran are replaced elsewhere and register again, every pick that
was acknowledged is still booked. Then the whole cluster dies, head included,
and a new one starts on the same database: epoch, rules and bookings are there.
"""

import threading
import time
import uuid
from collections import Counter

import httpx
import pytest

from routing_cli.ingress import ingress_mode
from tests.clusters.lone_cluster import active_instances, lone_cluster, organism_client
from tests.miners import job, load_miners
from tests.stack import ADMIN_HEADERS, FAST_HEARTBEATS, eventually

ORGANS = {"utility_organ_1": 2, "actuator_organ_1": 2, "graph_dispatcher": 2}
# the GCS declares a node dead after 3 missed health checks 0.5 s apart (defaults: 5 of 3 s)
QUICK_NODE_DEATH = {"RAY_health_check_period_ms": "500", "RAY_health_check_timeout_ms": "500",
                    "RAY_health_check_failure_threshold": "3"}


@pytest.fixture
def cluster_options(postgres_dsn: str) -> dict:
    namespace = f"multi-{uuid.uuid4().hex[:8]}"
    return {
        "workers": 2, "head_cpus": 0, "replicas": 3,
        "env": {"ROUTING_STATE_DSN": postgres_dsn, **QUICK_NODE_DEATH},
        "organism": {"namespace": namespace, "organs": ORGANS, **FAST_HEARTBEATS},
    }


class Load(threading.Thread):
    """Resolves and picks in a loop until stopped; what was answered, and which picks were acknowledged."""

    def __init__(self, client: httpx.Client) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.answers: list[tuple[float, str, int]] = []
        self.booked: dict[str, str] = {}  # job uuid -> hotkey
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            self._call("resolve", "/resolve-route", {"task": {"type": "general_query"}})
            spec = job()
            if self._call("pick", "/jobs/route", spec) == 200:
                self.booked[spec["uuid"]] = self._last.json()["miner"]["hotkey"]

    def _call(self, kind: str, path: str, body: dict) -> int:
        try:
            self._last = self.client.post(path, json=body, timeout=10)
            status = self._last.status_code
        except httpx.TransportError:
            status = 0
        self.answers.append((time.monotonic(), kind, status))
        return status

    def stop(self) -> None:
        self.stopping.set()
        self.join()


def assert_still_booked(client: httpx.Client, booked: dict[str, str]) -> None:
    for job_uuid, hotkey in booked.items():
        replay = client.post("/jobs/route", json=job(uuid=job_uuid))
        assert replay.status_code == 200, replay.text
        assert (replay.json()["miner"]["hotkey"], replay.json()["replayed"]) == (hotkey, True)


def test_a_worker_node_lost_under_load_then_the_whole_cluster_restarted(cluster_options):
    with lone_cluster(ingress_mode(), **cluster_options) as cluster:
        client = organism_client(cluster, ORGANS)
        assert client.put("/chain", json={"block": 25}).status_code == 200
        assert client.patch("/config", json={"DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS": 3600}).status_code == 200
        load_miners(client, {"a": 5000, "b": 5000}, "node-loss", allowance=10**9)
        epoch = client.post("/registry/epoch").json()["epoch"]
        rule = {"task_type": "survives_restarts", "domain": None, "logical_id": "actuator_organ_1"}
        assert client.put("/routing/rules", json={"add": [rule]}).status_code == 200
        eventually(lambda: len(active_instances(client)) == sum(ORGANS.values()), timeout_s=30)

        organs_on = Counter(i["node_id"] for i in active_instances(client))
        lost = max(cluster.workers, key=lambda worker: organs_on[worker.node_id(cluster)])  # SPREAD is best effort
        lost_node_id = lost.node_id(cluster)
        on_lost_node = {i["instance_id"] for i in active_instances(client) if i["node_id"] == lost_node_id}
        assert on_lost_node, f"no organ on a worker node: {organs_on}"

        load = Load(httpx.Client(base_url=client.base_url, headers=ADMIN_HEADERS, timeout=30))
        load.start()
        time.sleep(3)
        killed_at = time.monotonic()
        cluster.kill_node(lost)

        def replaced() -> bool:
            try:
                registry = client.get("/registry")
            except httpx.TransportError:  # a request that was on the lost node
                return False
            if registry.status_code != 200:  # the registry actor restarting elsewhere: 503 RegistryUnavailable
                return False
            active = [i for i in registry.json()["instances"] if i["active"]]
            return (len(active) == sum(ORGANS.values()) and not on_lost_node & {i["instance_id"] for i in active}
                    and all(i["node_id"] != lost_node_id for i in active))

        eventually(replaced, timeout_s=90, interval_s=0.5)
        recovered_at = time.monotonic()
        time.sleep(5)
        load.stop()

        before = [a for a in load.answers if a[0] < killed_at]
        after = [a for a in load.answers if a[0] > recovered_at + 1]
        during = Counter((kind, status) for at, kind, status in load.answers if killed_at <= at <= recovered_at + 1)
        print(f"node loss: organs replaced in {recovered_at - killed_at:.1f}s; answers while it happened {dict(during)}")
        assert before and after and all(status == 200 for _, _, status in before + after), Counter(after)
        assert during[("resolve", 200)] > 0  # routes answered while the node was being lost
        assert_still_booked(client, load.booked)
        booked_before_restart = dict(load.booked)

        cluster.kill("gcs_server")  # the head goes, and with it the cluster
        cluster.kill_node(cluster.head)

    with lone_cluster(ingress_mode(), **cluster_options) as restarted:
        client = organism_client(restarted, ORGANS)
        assert client.get("/registry").json()["epoch"] == epoch
        assert rule in client.get("/routing/rules").json()["rules"]
        assert_still_booked(client, booked_before_restart)
