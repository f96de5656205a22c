"""The benchmarked cluster: the three applications plus a no-op Serve baseline, behind
either ingress (Ray reads the choice when it starts, so each ingress is its own cluster)."""

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import psutil
import ray
from fastapi import FastAPI
from ray import serve

from cognitive.app import build_app as build_cognitive
from contracts.identity import Role
from coordinator.app import build_app as build_coordinator
from organism.app import build_app as build_organism
from routing_cli.ingress import free_port, ingress_env, private_directory
from servekit.identity import TokenSigner, throwaway_key

noop_app = FastAPI()


@serve.deployment(name="Noop", max_ongoing_requests=500, ray_actor_options={"num_cpus": 0.1})
@serve.ingress(noop_app)
class Noop:
    """What Ray Serve itself costs: an HTTP route and a handle method that do nothing."""

    @noop_app.post("/")
    async def noop_http(self, body: dict[str, Any]) -> dict[str, bool]:
        return {"ok": True}

    async def noop_handle(self) -> bool:
        return True


@dataclass
class Stack:
    base_url: str
    auth: str  # the Authorization header's value
    noop_handle: Any


def start(ingress: str, throughput_optimized: bool, noop_only: bool = False) -> Stack:
    signing_key, key_set = throwaway_key()
    env = {"ROUTING_TOKEN_PUBLIC_KEYS": key_set, **ingress_env(ingress, private_directory(), drain_s=0)}
    if throughput_optimized:
        env["RAY_SERVE_THROUGHPUT_OPTIMIZED"] = "1"
    os.environ.update(env)  # read by Serve's processes when they start
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    if not noop_only:
        deploy_organism()
        serve.run(build_cognitive({}), name="cognitive", route_prefix="/cognitive")
        serve.run(build_coordinator({"routing_remote": True, "organ_namespace": "bench"}), name="coordinator",
                  route_prefix="/pipeline")
    noop = serve.run(Noop.bind(), name="noop", route_prefix="/noop")
    token = TokenSigner(signing_key).mint("bench", Role.ADMIN)
    return Stack(f"http://127.0.0.1:{port}", f"Bearer {token}", noop)


class _State:
    directory: str | None = None  # one per run: a redeployed organism finds its state again


def deploy_organism() -> None:
    _State.directory = _State.directory or tempfile.mkdtemp(prefix="bench-state-")
    serve.run(build_organism({"namespace": "bench", "state_dir": _State.directory}), name="organism",
              route_prefix="/organism")


def organism_state_dir() -> str:
    """Where the benchmarked organism keeps its state (SQLite)."""
    assert _State.directory is not None, "the organism is not deployed"
    return _State.directory


def stop() -> None:
    serve.shutdown()
    ray.shutdown()
    subprocess.run(["pkill", "-f", "haproxy -db -f /tmp/rcp-"], check=False)  # an HAProxy may outlive its cluster
    time.sleep(2)


def ray_resident_memory_mb() -> float:
    """Summed RSS of the Ray processes on this machine (raylet, GCS, workers, agents)."""
    total = 0
    for process in psutil.process_iter(["name", "cmdline", "memory_info"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        name = process.info["name"] or ""
        if "ray::" in name or "ray/" in cmdline or "raylet" in name or "gcs_server" in name or name.startswith("ray::"):
            total += process.info["memory_info"].rss if process.info["memory_info"] else 0
    return round(total / 2**20, 1)
