"""A throwaway Ray cluster of its own, for tests that must not touch the session's.

`ray start --head` in a short temporary directory (Ray's unix socket paths
must stay under 108 bytes), the organism deployed on it by a driver process
that stays alive, and everything killed afterwards, found by that directory.
The ingress is the session's unless the test asks for another.
"""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from routing_cli.ingress import ingress_env
from tests.integration.conftest import REPO_ROOT, TEST_SECRET, _free_port

DRIVER = textwrap.dedent(
    """
    import sys, time
    import ray
    from ray import serve
    from organism.app import build_app
    ray.init(address=sys.argv[1], namespace="lone-cluster")
    serve.start(http_options={"host": "127.0.0.1", "port": int(sys.argv[2])})
    serve.run(build_app({"namespace": "lone", "state_dir": sys.argv[3], "heartbeat_interval_s": 0.3}),
              name="organism", route_prefix="/organism")
    print("deployed", flush=True)
    while True:
        time.sleep(60)
    """
)


@dataclass
class LoneCluster:
    base_url: str
    temp_dir: str

    def processes(self) -> list[psutil.Process]:
        found = []
        for process in psutil.process_iter(["cmdline"]):
            with contextlib.suppress(psutil.Error):
                if any(self.temp_dir in part for part in process.info["cmdline"] or ()):
                    found.append(process)
        return found

    def kill(self, name: str) -> None:
        for process in self.processes():
            if process.name() == name:
                process.kill()


@contextlib.contextmanager
def lone_cluster(ingress: str) -> Iterator[LoneCluster]:
    temp_dir = tempfile.mkdtemp(prefix="rcp-", dir="/tmp")
    gcs_port, http_port = _free_port(), _free_port()
    env = {
        **os.environ, "ROUTING_TOKEN_SECRET": TEST_SECRET, "PYTHONPATH": str(REPO_ROOT),
        "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled",
        **ingress_env(ingress, Path(temp_dir) / "hap", drain_s=0, ports=(_free_port(), _free_port())),
    }
    ray_cli = os.path.join(os.path.dirname(sys.executable), "ray")
    subprocess.run(
        [ray_cli, "start", "--head", f"--port={gcs_port}", "--num-cpus=2", "--include-dashboard=false",
         f"--temp-dir={temp_dir}", f"--ray-client-server-port={_free_port()}"],
        env=env, check=True, capture_output=True,
    )
    cluster = LoneCluster(f"http://127.0.0.1:{http_port}", temp_dir)
    with open(os.path.join(temp_dir, "driver.log"), "w") as log:
        driver = subprocess.Popen(
            [sys.executable, "-c", DRIVER, f"127.0.0.1:{gcs_port}", str(http_port), os.path.join(temp_dir, "state")],
            env=env, stdout=subprocess.PIPE, stderr=log, text=True,
        )
    started: list[psutil.Process] = []
    try:
        assert driver.stdout.readline().strip() == "deployed", f"see {temp_dir}/driver.log"
        raylet = next(p for p in cluster.processes() if p.name() == "raylet")
        started = [*cluster.processes(), *raylet.children(recursive=True)]  # workers outlive a killed raylet
        yield cluster
    finally:
        driver.kill()
        for process in [*started, *cluster.processes()]:
            with contextlib.suppress(psutil.Error):
                process.kill()
        shutil.rmtree(temp_dir, ignore_errors=True)
