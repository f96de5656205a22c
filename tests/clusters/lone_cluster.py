"""A throwaway Ray cluster of its own, for tests that must not touch the session's.

`ray start --head` in a short temporary directory (Ray's unix socket paths
must stay under 108 bytes), optionally worker nodes joining it (`ray start
--address`, each with its own node manager port so a test can kill one node),
the organism deployed on it by a driver process that stays alive, its
Serve applications drained on request (`drain`: `serve.shutdown()`, as a
cluster leaving an upgrade), and everything killed afterwards, found by that
directory. `organism_client` waits until the organism answers with every
organ active. The ingress is the
session's unless the test asks for another; it runs on the head only, since
every node shares this machine's ports.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from routing_cli.ingress import free_port, ingress_env
from tests.stack import ADMIN_HEADERS, AUTH_ENV, REPO_ROOT, eventually

STATE_VARIABLES = ("ROUTING_STATE_DSN", "ROUTING_STATE_DSN_FILE")

DRIVER = textwrap.dedent(
    """
    import json, sys, time
    import ray
    from ray import serve
    from organism.app import OrganismManager
    from organism.settings import OrganismSettings
    ray.init(address=sys.argv[1], namespace="lone-cluster")
    deadline = time.monotonic() + 60  # a worker started a moment ago may not have joined yet
    while sum(node["Alive"] for node in ray.nodes()) < int(sys.argv[6]) and time.monotonic() < deadline:
        time.sleep(0.2)
    serve.start(http_options={"host": "127.0.0.1", "port": int(sys.argv[2]), "location": "HeadOnly"})
    settings, replicas, coordinator = json.loads(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
    app = OrganismManager.options(num_replicas=replicas).bind(OrganismSettings(**settings))
    serve.run(app, name="organism", route_prefix="/organism")
    if coordinator is not None:  # the whole stack: Cognitive, and the Coordinator with as many replicas
        from cognitive.app import build_app as build_cognitive
        from coordinator.app import Coordinator
        from coordinator.settings import CoordinatorSettings
        serve.run(build_cognitive({}), name="cognitive", route_prefix="/cognitive")
        args = {"routing_remote": True, "organ_namespace": settings["namespace"], **coordinator}
        serve.run(Coordinator.options(num_replicas=replicas).bind(CoordinatorSettings(**args)), name="coordinator",
                  route_prefix="/pipeline")
    print("deployed", flush=True)
    while True:
        time.sleep(60)
    """
)
DRAIN = "import sys, ray; from ray import serve; ray.init(address=sys.argv[1]); serve.shutdown()"


@dataclass
class Node:
    node_manager_port: int

    def raylet(self, cluster: "LoneCluster") -> psutil.Process:
        flag = f"--node_manager_port={self.node_manager_port}"
        return next(p for p in cluster.processes() if p.name() == "raylet" and flag in p.cmdline())

    def node_id(self, cluster: "LoneCluster") -> str:
        return next(a.split("=", 1)[1] for a in self.raylet(cluster).cmdline() if a.startswith("--node_id="))


@dataclass
class LoneCluster:
    base_url: str
    temp_dir: str
    head: Node
    gcs_address: str
    env: dict[str, str]
    workers: list[Node] = field(default_factory=list)

    def processes(self) -> list[psutil.Process]:
        return processes_under(self.temp_dir)

    def kill(self, name: str) -> None:
        for process in self.processes():
            if process.name() == name:
                process.kill()

    def kill_node(self, node: Node) -> None:
        """What losing a machine looks like: its raylet and every worker process under it die at once."""
        raylet = node.raylet(self)
        for process in [raylet, *raylet.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                process.kill()

    def drain(self) -> None:
        """Shut Serve down on this cluster (its applications deleted, its ingress gone); the Ray processes stay."""
        subprocess.run([sys.executable, "-c", DRAIN, self.gcs_address], env=self.env, check=True,
                       capture_output=True, timeout=120)


def organism_client(cluster: LoneCluster, organs: dict[str, int], timeout_s: float = 120) -> httpx.Client:
    """An admin's client of the cluster's organism, once it answers and every one of `organs` is active."""
    client = httpx.Client(base_url=cluster.base_url + "/organism", headers=ADMIN_HEADERS, timeout=30)
    eventually(lambda: client.get("/health").status_code == 200, timeout_s=timeout_s)
    eventually(lambda: len(active_instances(client)) == sum(organs.values()), timeout_s=60)
    return client


def active_instances(client: httpx.Client) -> list[dict]:
    return [i for i in client.get("/registry").json()["instances"] if i["active"]]


def processes_under(temp_dir: str) -> list[psutil.Process]:
    """Every process whose command line or environment names `temp_dir`: a cluster's Ray processes,
    HAProxy included (Ray's agents retitle themselves `ray::...`, but keep the environment)."""
    found = []
    for process in psutil.process_iter(["cmdline", "environ"]):
        with contextlib.suppress(psutil.Error):
            named = [*(process.info["cmdline"] or ()), *(process.info["environ"] or {}).values()]
            if any(temp_dir in part for part in named):
                found.append(process)
    return found


def with_raylet_children(processes: list[psutil.Process]) -> list[psutil.Process]:
    """The processes and everything under their raylets (worker processes outlive a killed raylet)."""
    found = list(processes)
    for process in processes:
        with contextlib.suppress(psutil.Error):
            if process.name() == "raylet":
                found += process.children(recursive=True)
    return found


def kill_all(temp_dir: str, started: list[psutil.Process]) -> None:
    """Kill what was started and whatever still names `temp_dir`, then remove it."""
    for process in [*started, *processes_under(temp_dir)]:
        with contextlib.suppress(psutil.Error):
            process.kill()
    shutil.rmtree(temp_dir, ignore_errors=True)


def internal_port_flags(node_manager_port: int) -> list[str]:
    """Ray's internal ports, each free: nodes sharing one machine must not share them."""
    return [f"--node-manager-port={node_manager_port}", f"--object-manager-port={free_port()}",
            f"--min-worker-port={free_port()}", "--max-worker-port=0"]


def _tail(path: str, lines: int = 40) -> str:
    with open(path) as log:
        return "".join(log.readlines()[-lines:])


def _start_node(ray_cli: str, env: dict[str, str], temp_dir: str, *args: str) -> Node:
    node = Node(free_port())
    subprocess.run(
        [ray_cli, "start", f"--temp-dir={temp_dir}", *internal_port_flags(node.node_manager_port), *args],
        env=env, check=True, capture_output=True,
    )
    return node


@contextlib.contextmanager
def lone_cluster(
    ingress: str,
    *,
    workers: int = 0,
    head_cpus: int = 2,
    env: dict[str, str] | None = None,
    organism: dict[str, Any] | None = None,
    replicas: int = 2,
    coordinator: dict[str, Any] | None = None,
) -> Iterator[LoneCluster]:
    """Start the cluster, deploy the organism (`organism`: its settings) on it, and with `coordinator` (its
    settings) Cognitive and the Coordinator too, each with `replicas`; yield; kill it all after."""
    temp_dir = tempfile.mkdtemp(prefix="rcp-", dir="/tmp")
    gcs_port, http_port = free_port(), free_port()
    env = {  # the state backend is what `env` says (SQLite files by default), never the caller's environment
        **{k: v for k, v in os.environ.items() if k not in STATE_VARIABLES}, **AUTH_ENV, "PYTHONPATH": str(REPO_ROOT),
        "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled",
        **ingress_env(ingress, Path(temp_dir) / "hap", drain_s=0, ports=(free_port(), free_port())),
        **(env or {}),
    }
    settings = {"namespace": "lone", "state_dir": os.path.join(temp_dir, "state"), "heartbeat_interval_s": 0.3,
                **(organism or {})}
    ray_cli = os.path.join(os.path.dirname(sys.executable), "ray")
    head = _start_node(ray_cli, env, temp_dir, "--head", f"--port={gcs_port}", f"--num-cpus={head_cpus}",
                       "--include-dashboard=false", f"--ray-client-server-port={free_port()}")
    cluster = LoneCluster(f"http://127.0.0.1:{http_port}", temp_dir, head, f"127.0.0.1:{gcs_port}", env)
    started: list[psutil.Process] = []
    driver = None
    try:
        for _ in range(workers):
            cluster.workers.append(_start_node(ray_cli, env, temp_dir, f"--address=127.0.0.1:{gcs_port}",
                                               "--num-cpus=1"))
        with open(os.path.join(temp_dir, "driver.log"), "w") as log:
            driver = subprocess.Popen(
                [sys.executable, "-c", DRIVER, f"127.0.0.1:{gcs_port}", str(http_port), json.dumps(settings),
                 str(replicas), json.dumps(coordinator), str(1 + workers)],
                env=env, stdout=subprocess.PIPE, stderr=log, text=True,
            )
        if driver.stdout.readline().strip() != "deployed":
            raise AssertionError(f"the driver did not deploy; the end of its log:\n{_tail(temp_dir + '/driver.log')}")
        started = with_raylet_children(cluster.processes())
        yield cluster
    finally:
        if driver:
            driver.kill()
        kill_all(temp_dir, started)
