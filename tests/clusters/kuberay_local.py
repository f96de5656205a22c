"""A RayService's pods run on this machine as KubeRay runs them, and the operator's calls made against them.

Each pod is the operator's `ray start --block` (flags and environment from tests/kuberay_pods.py),
started once the pods before it pass their readiness probe (the head first, as the workers'
init container waits for its GCS); the image's code is this repository (PYTHONPATH). The
operator's side is its REST client (KubeRay v1.7.0 `utils/dashboardclient`): serveConfigV2
as JSON in a PUT to the head Service's port named `dashboard`, then the declarative
applications' statuses until each is RUNNING.

What one machine changes, mechanically, and nothing else:
- ports: each pod has its own network namespace on Kubernetes; here every port number a pod
  names (its rayStartParams' ports, Ray's and Serve's fixed defaults, env vars named `*_PORT`,
  serveConfigV2's HTTP port, its containerPorts) maps to a free local port of that pod
  (PortMap). Listeners and clients go through the same map, so a port the manifest gets
  wrong is a port nobody listens on. The head's Serve port is remapped in the serveConfigV2
  submitted; a worker's through Ray's RAY_SERVE_WORKER_PROXY_HTTP_PORT;
- Services: a value `name:port` naming a stand-in (Redis) resolves to its local address;
- a pod's private /tmp: Ray's temp dir and HAProxy's files in the pod's own directory; Ray's
  internal ports that a pod picks freely (node manager, object manager, workers) are free ones.
Not run: the autoscaler's container (it needs the Kubernetes API); the worker group starts at `replicas`.
"""

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml

from routing_cli.ingress import free_port, ingress_env
from tests.clusters.lone_cluster import internal_port_flags, kill_all, processes_under, with_raylet_children
from tests.kuberay_pods import (
    DEFAULT_PORTS,
    SERVE_PORT_DEFAULT,
    Group,
    PodFailed,
    groups,
    operator_env,
    ray_start_flags,
    resolve_env,
    start_params,
)
from tests.stack import REPO_ROOT

RAY = os.path.join(os.path.dirname(sys.executable), "ray")
LOCAL_ONLY_ENV = {"PYTHONPATH": str(REPO_ROOT), "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
SERVE_DEFAULT_PORTS = {  # Serve binds these unless told otherwise: the head's fallback proxy in HAProxy mode
    "RAY_SERVE_FALLBACK_PROXY_HTTP_PORT": "8500", "RAY_SERVE_FALLBACK_PROXY_GRPC_PORT": "9500"}


@dataclass
class PortMap:
    """One pod's network namespace on a shared machine: each port number it names gets a free local port."""

    local_ports: dict[int, int] = field(default_factory=dict)

    def local(self, port: int) -> int:
        return self.local_ports.setdefault(port, free_port())

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{self.local(port)}"


@dataclass
class LocalPod:
    name: str
    group: Group
    ports: PortMap
    params: dict[str, str]  # the operator's rayStartParams, ports as the manifest names them
    process: subprocess.Popen
    log: Path

    def probe(self, port: int, path: str) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(self.ports.url(port) + path, timeout=2).status_code == 200
        return False

    def raylet_ready(self) -> bool:
        """KubeRay's readiness probe for Ray >= 2.53: the dashboard agent's health."""
        return self.probe(int(self.params["dashboard-agent-listen-port"]), "/api/healthz")

    def ready(self) -> bool:
        """A RayService's workers must also pass Serve's proxy health on their container port named `serve`."""
        serve = self.group.container_port("serve", SERVE_PORT_DEFAULT)
        return self.raylet_ready() and (self.group.node_type == "head" or self.probe(serve, "/-/healthz"))

    def fail_if_exited(self) -> None:
        if self.process.poll() is not None:
            raise PodFailed(f"{self.name} exited ({self.process.returncode}): {self.log.read_text()[-3000:]}")


def _pod_env(entries: dict[str, str], ports: PortMap, services: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "ROUTING_"))}  # not the test session's
    for name, value in entries.items():
        if name.endswith("_PORT") and value.isdigit():
            value = str(ports.local(int(value)))
        env[name] = services.get(value, value)
    return env


def _start_pod(rayservice: dict, group: Group, name: str, ports: PortMap, head_address: str, temp_dir: Path,
               secrets: dict, services: dict[str, str], cluster_name: str) -> LocalPod:
    directory = temp_dir / name
    directory.mkdir()
    params = start_params(rayservice, group, head_address)
    if group.node_type == "head":  # Ray's own defaults, named so that they are remapped like the rest
        params = {**{key: str(port) for key, port in DEFAULT_PORTS.items()}, **params}
    local_params = {key: str(ports.local(int(value))) if (key == "port" or key.endswith("-port")) and value.isdigit()
                    else value for key, value in params.items()}
    entries = resolve_env([*group.container.get("env", []), *operator_env(rayservice, group, cluster_name, head_address)],
                          secrets)
    env = {**_pod_env({**SERVE_DEFAULT_PORTS, **entries}, ports, services), **LOCAL_ONLY_ENV}
    haproxy = ingress_env("haproxy", directory / "hap")  # the pod's own /tmp for HAProxy's socket and files
    env.update({key: value for key, value in haproxy.items() if key not in ingress_env("haproxy")})
    serve_port = yaml.safe_load(rayservice["spec"]["serveConfigV2"]).get("http_options", {}).get("port", SERVE_PORT_DEFAULT)
    if group.node_type == "worker":
        env["RAY_SERVE_WORKER_PROXY_HTTP_PORT"] = str(ports.local(serve_port))
    flags = [re.sub(r"\$(\w+)", lambda m: env.get(m.group(1), ""), flag) for flag in ray_start_flags(group, local_params)]
    log = directory / "pod.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [RAY, "start", *flags, f"--temp-dir={directory / 'ray'}", *internal_port_flags(free_port())],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    return LocalPod(name, group, ports, params, process, log)


def wait_ready(pods: list[LocalPod], timeout_s: float, probe: Callable[[LocalPod], bool] = LocalPod.ready) -> None:
    """Wait as the kubelet does until each pod passes `probe`; a pod whose process exited fails at once."""
    deadline = time.monotonic() + timeout_s
    while not all(probe(pod) for pod in pods):
        for pod in pods:
            pod.fail_if_exited()
        if time.monotonic() > deadline:
            raise PodFailed(f"not ready within {timeout_s} s: {[p.name for p in pods if not probe(p)]}")
        time.sleep(0.3)


def _with_descendants(pid: int) -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        process = psutil.Process(pid)
        return [process, *process.children(recursive=True)]
    return []


@dataclass
class LocalRayService:
    rayservice: dict[str, Any]
    head: LocalPod
    workers: list[LocalPod]

    @property
    def pods(self) -> list[LocalPod]:
        return [self.head, *self.workers]

    def dashboard(self) -> str:
        """The head Service's port named `dashboard` (FetchHeadServiceURL: no such port, no RayService)."""
        port = self.head.group.container_port("dashboard")
        if port is None:
            raise PodFailed("dashboard port is not found")
        return self.head.ports.url(port)

    def submit_serve_config(self, timeout_s: float = 60) -> None:
        """UpdateDeployments, retried as the operator's reconcile loop retries it while the dashboard starts."""
        config = yaml.safe_load(self.rayservice["spec"]["serveConfigV2"])
        http = config.setdefault("http_options", {})
        http["port"] = self.head.ports.local(http.get("port", SERVE_PORT_DEFAULT))  # the head's proxy binds it
        deadline, last = time.monotonic() + timeout_s, ""
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                answer = httpx.put(self.dashboard() + "/api/serve/applications/", json=config, timeout=60)
                if 200 <= answer.status_code < 300:
                    return
                last = f"{answer.status_code} {answer.text[:500]}"
            self.head.fail_if_exited()
            time.sleep(1)
        raise PodFailed(f"UpdateDeployments fail: {last or 'no answer'}")

    def application_statuses(self) -> dict[str, str]:
        """GetMultiApplicationStatus: the declarative applications by name (an HTTP error raises)."""
        answer = httpx.get(self.dashboard() + "/api/serve/applications/", params={"api_type": "declarative"}, timeout=30)
        answer.raise_for_status()
        return {name or "default": app["status"] for name, app in answer.json()["applications"].items()}

    def wait_until_running(self, timeout_s: float) -> dict[str, str]:
        """Poll as the operator does until every application is RUNNING (and there is one); a failed deploy fails."""
        deadline, statuses = time.monotonic() + timeout_s, {}
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):  # the operator requeues and asks again
                statuses = self.application_statuses()
            if statuses and all(status == "RUNNING" for status in statuses.values()):
                return statuses
            if failed := {n: s for n, s in statuses.items() if s == "DEPLOY_FAILED"}:
                raise PodFailed(f"applications failed to deploy: {failed}")
            for pod in self.pods:
                pod.fail_if_exited()
            time.sleep(1)
        raise PodFailed(f"applications not RUNNING within {timeout_s} s: {statuses}")


@contextlib.contextmanager
def running(rayservice: dict[str, Any], secrets: dict, services: dict[str, str]) -> Iterator[LocalRayService]:
    """Start the head, then the worker groups at their replicas, each ready; yield; kill every process after."""
    temp_dir = Path(tempfile.mkdtemp(prefix="rcp-", dir="/tmp"))
    cluster_name = f"{rayservice['metadata']['name']}-{uuid.uuid4().hex[:5]}"
    head_group, *worker_groups = groups(rayservice)
    head_ports = PortMap()
    head_address = f"127.0.0.1:{head_ports.local(int(head_group.spec.get('rayStartParams', {}).get('port', 6379)))}"
    started: list[LocalPod] = []
    try:
        start = dict(head_address=head_address, temp_dir=temp_dir, secrets=secrets, services=services,
                     cluster_name=cluster_name)
        started.append(_start_pod(rayservice, head_group, "h", head_ports, **start))
        wait_ready(started, 90, LocalPod.raylet_ready)
        workers = [_start_pod(rayservice, group, f"w{index}", PortMap(), **start)
                   for group in worker_groups for index in range(group.spec.get("replicas", 0))]
        started += workers
        wait_ready(workers, 90, LocalPod.raylet_ready)
        yield LocalRayService(rayservice, started[0], workers)
    finally:  # every pod's `ray start --block` and all under it, and whatever else names the temp dir
        family = [p for pod in started for p in _with_descendants(pod.process.pid)]
        kill_all(str(temp_dir), [*family, *with_raylet_children(processes_under(str(temp_dir)))])
