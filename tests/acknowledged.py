"""A black-box probe of "acknowledged means everywhere": write, then read through every path at once.

Each case makes one change of the control plane (a rule added, the same rule
removed, an epoch rotation, a refresh, a dynamic-config patch, a miner
blacklisted and lifted), waits for its `2xx`, then reads at once through every
path that could contradict it: a resolve, a bulk resolve, the Coordinator's
`/route` and `/tasks`, `GET /config` and a dry-run pick, several times each so
every replica answers. An answer that contradicts the change, or carries a
control-plane version older than the change's, is *stale*; `Probe.stale` lists
them. Used on the shared cluster and on a cluster behind the other ingress.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.miners import CLASS, job, load_miners
from tests.stack import ADMIN_HEADERS, SERVICE_HEADERS

TYPE = "graph_probe"  # the Coordinator routes it remotely (its `routing_remote_types`)
DEFAULT, RULED = "graph_dispatcher", "actuator_organ_1"
READS_PER_PATH = 6
VERSION, REPLICA = "x-control-plane-version", "x-replica-id"
COORDINATOR_ARGS = {"routing_remote_types": TYPE, "route_single_timeout_s": 2.0, "route_bulk_timeout_s": 2.0}


@dataclass
class Probe:
    base_url: str
    stale: list[str] = field(default_factory=list)
    replicas: set[tuple[str, str]] = field(default_factory=set)  # (path prefix, replica id) that answered
    writes: list[float] = field(default_factory=list)  # each acknowledgement's seconds
    miner: str = ""

    def __post_init__(self) -> None:
        self.admin = httpx.Client(base_url=self.base_url, headers=ADMIN_HEADERS, timeout=30)
        self.service = httpx.Client(base_url=self.base_url, headers=SERVICE_HEADERS, timeout=30)

    def close(self) -> None:
        self.admin.close()
        self.service.close()

    def prepare(self) -> None:
        """One miner alone in its executor class, so a pick says whether it is blacklisted."""
        organism = httpx.Client(base_url=self.base_url + "/organism", headers=ADMIN_HEADERS, timeout=30)
        self.miner = load_miners(organism, {"probe": 1}, f"ack-{uuid.uuid4().hex[:6]}")[0]
        assert organism.put("/chain", json={"block": 25}).status_code == 200
        organism.close()

    # --- writing ----------------------------------------------------------------------
    def write(self, method: str, path: str, body: Any = None) -> int:
        response = self.admin.request(method, "/organism" + path, json=body)
        assert response.status_code in (200, 204), response.text
        self.writes.append(response.elapsed.total_seconds())
        assert "x-control-plane-late" not in response.headers, response.headers["x-control-plane-late"]
        return int(response.headers[VERSION])

    # --- reading ----------------------------------------------------------------------
    def read(self, name: str, method: str, path: str, body: Any, version: int,
             expected: Callable[[httpx.Response], bool]) -> list[httpx.Response]:
        answers = []
        for _ in range(READS_PER_PATH):
            response = self.service.request(method, path, json=body)
            self.replicas.add((path.split("/")[1], response.headers.get(REPLICA, "?")))
            if response.status_code >= 500 or int(response.headers.get(VERSION, -1)) < version or not expected(response):
                self.stale.append(f"{name} after version {version}: {response.status_code} "
                                  f"v{response.headers.get(VERSION)} {response.text[:160]}")
            answers.append(response)
        return answers

    def routes_to(self, domain: str, version: int, logical_id: str, epoch: str | None = None) -> None:
        """Every routing path sends (TYPE, domain) to `logical_id` (in `epoch`, if given)."""
        def resolved(response: httpx.Response) -> bool:
            body = response.json()
            return body["logical_id"] == logical_id and (epoch is None or body["epoch"] == epoch)

        def bulk(response: httpx.Response) -> bool:
            body = response.json()
            return body["results"][0]["logical_id"] == logical_id and (epoch is None or body["epoch"] == epoch)

        def routed(response: httpx.Response) -> bool:  # a static route (no live organ yet) carries no epoch
            body = response.json()
            return body["logical_id"] == logical_id and (epoch is None or body["epoch"] in (epoch, None))

        def ran(response: httpx.Response) -> bool:
            return response.json()["steps"][0]["logical_id"] == logical_id

        task = {"type": TYPE, "domain": domain}
        self.read("resolve", "POST", "/organism/resolve-route", {"task": task}, version, resolved)
        self.read("bulk", "POST", "/organism/resolve-routes", {"tasks": [{"key": "k", **task}]}, version, bulk)
        self.read("route", "POST", "/pipeline/route", task, version, routed)
        self.read("tasks", "POST", "/pipeline/tasks", task, version, ran)

    # --- the cases --------------------------------------------------------------------
    def rule_added_then_removed(self, round_: int) -> None:
        domain = f"d{round_}-{uuid.uuid4().hex[:4]}"
        self.routes_to(domain, 0, DEFAULT)  # caches hold the answer the change contradicts
        rule = {"task_type": TYPE, "domain": domain, "logical_id": RULED}
        self.routes_to(domain, self.write("PUT", "/routing/rules", {"add": [rule]}), RULED)
        removed = self.write("PUT", "/routing/rules", {"remove": [{"task_type": TYPE, "domain": domain}]})
        self.routes_to(domain, removed, DEFAULT)

    def epoch_rotated(self, round_: int) -> None:
        domain = f"e{round_}"
        self.routes_to(domain, 0, DEFAULT)
        response = self.admin.post("/organism/registry/epoch")
        assert response.status_code == 200, response.text
        self.routes_to(domain, int(response.headers[VERSION]), DEFAULT, epoch=response.json()["epoch"])

    def refreshed(self, round_: int) -> None:
        task = {"task": {"type": TYPE, "domain": f"r{round_}"}}
        for _ in range(READS_PER_PATH):  # every replica has it cached
            self.service.post("/organism/resolve-route", json=task)
        version = self.write("POST", "/routing/refresh")
        first_answers: dict[str, bool] = {}
        for answer in self.read("resolve after refresh", "POST", "/organism/resolve-route", task, version, lambda r: True):
            first_answers.setdefault(answer.headers[REPLICA], answer.json()["cache_hit"])
        if any(first_answers.values()):
            self.stale.append(f"a replica answered from a cache the refresh of version {version} cleared")

    def config_patched(self, round_: int) -> None:
        value = 100 + round_
        version = self.write("PATCH", "/config", {"DYNAMIC_INCIDENTS_TO_BLACKLIST": value})
        self.read("config", "GET", "/organism/config", None, version,
                  lambda r: r.json()["DYNAMIC_INCIDENTS_TO_BLACKLIST"] == value)

    def miner_blacklisted_then_lifted(self, round_: int) -> None:
        def picked(expected_status: int) -> Callable[[httpx.Response], bool]:
            return lambda r: r.status_code == expected_status

        blacklisted = self.write("POST", f"/miners/{self.miner}/blacklist", {"reason": f"probe {round_}"})
        self.read("pick of a blacklisted miner", "POST", "/organism/jobs/route?dry_run=true", job(executor_class=CLASS),
                  blacklisted, picked(409))
        lifted = self.write("DELETE", f"/miners/{self.miner}/blacklist")
        self.read("pick after the lift", "POST", "/organism/jobs/route?dry_run=true", job(executor_class=CLASS),
                  lifted, picked(200))

    CASES = ("rule_added_then_removed", "epoch_rotated", "refreshed", "config_patched", "miner_blacklisted_then_lifted")
