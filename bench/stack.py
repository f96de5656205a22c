"""The benchmarked cluster: the stack as `make run` starts it, with a no-op beside it.

`start` runs `routing run` (what `make run` runs) on a copy of
`serve_config.yaml` that differs in two things only: the HTTP port is a free
one, and one more application, the no-op (`bench.noop`), is served at
`/noop` in the same cluster, behind the same ingress, dashboard and logging
(a measurement that needs more coordinator replicas says so).
Tokens come from a key set made for the run. The ingress is chosen as users
choose it (`ROUTING_INGRESS`), so each ingress is a cluster of its own.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import ray
import yaml
from ray import serve

from contracts.identity import Role
from routing_cli.ingress import free_port
from routing_cli.stack import HEALTH_ROUTES
from servekit.identity import TokenSigner, throwaway_key

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "serve_config.yaml"
NAMESPACE = "routing"  # the organism's, as serve_config.yaml sets it


@dataclass
class Stack:
    base_url: str
    auth: str  # the Authorization header's value
    noop_handle: Any
    config: Path  # the benchmarked copy of serve_config.yaml
    state_dir: Path  # the organism's state (SQLite)


class _Running:
    launcher: subprocess.Popen | None = None


def benchmarked_config(directory: Path, port: int, coordinator_replicas: int | None = None) -> Path:
    """serve_config.yaml with a free port and the no-op (and, when asked, that many coordinator replicas)."""
    config = yaml.safe_load(CONFIG.read_text())
    config["http_options"]["port"] = port
    if coordinator_replicas is not None:
        coordinator = next(app for app in config["applications"] if app["name"] == "coordinator")
        coordinator["deployments"][0]["num_replicas"] = coordinator_replicas
    config["applications"].append({
        "name": "noop", "route_prefix": "/noop", "import_path": "bench.noop:app",
        "runtime_env": {"env_vars": {"PYTHONPATH": str(REPO)}},  # the bench package is not installed
    })
    path = directory / "serve_config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def start(ingress: str, throughput_optimized: bool = False, coordinator_replicas: int | None = None) -> Stack:
    directory = Path(tempfile.mkdtemp(prefix="bench-"))
    port = free_port()
    config = benchmarked_config(directory, port, coordinator_replicas)
    signing_key, key_set = throwaway_key()
    env = {**os.environ, "ROUTING_INGRESS": ingress, "ROUTING_TOKEN_PUBLIC_KEYS": key_set,
           "ORGANISM_STATE_DIR": str(directory / "state")}
    if throughput_optimized:
        env["RAY_SERVE_THROUGHPUT_OPTIMIZED"] = "1"
    _Running.launcher = subprocess.Popen([str(Path(sys.executable).with_name("routing")), "run", "--config", str(config)],
                                         env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url, (*HEALTH_ROUTES, "/noop/docs"))
        ray.init(address="auto", namespace="bench", log_to_driver=False, logging_level="ERROR")
        token = TokenSigner(signing_key).mint("bench", Role.ADMIN)
        return Stack(base_url, f"Bearer {token}", serve.get_app_handle("noop"), config, directory / "state")
    except BaseException:
        stop()  # a stack that did not come up is not left running
        raise


def _wait_until_up(base_url: str, routes: tuple[str, ...], timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _Running.launcher and _Running.launcher.poll() is not None:
            raise RuntimeError("routing run stopped before the stack was up")
        if all(_answers(base_url + route) for route in routes):
            return
        time.sleep(1)
    raise TimeoutError("the stack did not come up")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def redeploy(cluster: Stack) -> None:
    """The benchmarked config applied again, as an operator would (`serve deploy`): what was deleted returns."""
    subprocess.run([str(Path(sys.executable).with_name("serve")), "deploy", str(cluster.config)], check=True,
                   cwd=REPO, stdout=subprocess.DEVNULL)


def stop() -> None:
    """Ctrl-C to `routing run`, as a user stops `make run`."""
    serve.context._set_global_client(None)  # Serve's client in this driver belongs to this cluster only
    ray.shutdown()
    if _Running.launcher is not None:
        _Running.launcher.send_signal(signal.SIGINT)
        _Running.launcher.wait(timeout=120)
        _Running.launcher = None


def ray_resident_memory_mb() -> float:
    """Summed RSS of the Ray processes on this machine (raylet, GCS, workers, agents)."""
    total = 0
    for process in psutil.process_iter(["name", "cmdline", "memory_info"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        name = process.info["name"] or ""
        if "ray::" in name or "ray/" in cmdline or "raylet" in name or "gcs_server" in name or name.startswith("ray::"):
            total += process.info["memory_info"].rss if process.info["memory_info"] else 0
    return round(total / 2**20, 1)
