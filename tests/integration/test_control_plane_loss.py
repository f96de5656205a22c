"""When Ray's control plane (GCS and raylet) is gone, the stack fails closed at once.

This test runs its own throwaway Ray cluster (killing the session's GCS would end
every other test): a head started with `ray start`, the organism deployed on it
by a driver process, then the GCS and the raylet killed with SIGKILL.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import httpx
import psutil
import pytest

from tests.integration.conftest import ADMIN_HEADERS, REPO_ROOT, TEST_SECRET, _free_port, eventually

DRIVER = textwrap.dedent(
    """
    import sys, time
    import ray
    from ray import serve
    from organism.app import build_app
    ray.init(address=sys.argv[1], namespace="control-plane-test")
    serve.start(http_options={"host": "127.0.0.1", "port": int(sys.argv[2])})
    serve.run(build_app({"namespace": "cp-test", "state_dir": sys.argv[3], "heartbeat_interval_s": 0.3}),
              name="organism", route_prefix="/organism")
    print("deployed", flush=True)
    while True:
        time.sleep(60)
    """
)


def _processes_of(marker: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if any(marker in part for part in process.info["cmdline"] or ()):
                found.append(process)
        except psutil.Error:
            pass
    return found


@pytest.fixture
def lone_cluster(tmp_path):
    temp_dir = tempfile.mkdtemp(prefix="rcp-", dir="/tmp")  # Ray's socket paths must stay under 108 bytes
    gcs_port, http_port = _free_port(), _free_port()
    env = {**os.environ, "ROUTING_TOKEN_SECRET": TEST_SECRET, "PYTHONPATH": str(REPO_ROOT), "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    ray_cli = os.path.join(os.path.dirname(sys.executable), "ray")
    subprocess.run(
        [ray_cli, "start", "--head", f"--port={gcs_port}", "--num-cpus=2", "--include-dashboard=false",
         f"--temp-dir={temp_dir}", f"--ray-client-server-port={_free_port()}"],
        env=env, check=True, capture_output=True,
    )
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, f"127.0.0.1:{gcs_port}", str(http_port), str(tmp_path / "state")],
        env=env, stdout=subprocess.PIPE, stderr=open(os.path.join(temp_dir, "driver.log"), "w"), text=True,
    )
    everything: list[psutil.Process] = []
    try:
        assert driver.stdout.readline().strip() == "deployed"
        raylet = next(p for p in _processes_of(temp_dir) if p.name() == "raylet")
        everything = [*_processes_of(temp_dir), *raylet.children(recursive=True)]
        yield f"http://127.0.0.1:{http_port}", temp_dir
    finally:
        driver.kill()
        for process in [*everything, *_processes_of(temp_dir)]:
            try:
                process.kill()
            except psutil.Error:
                pass
        shutil.rmtree(temp_dir, ignore_errors=True)


def _kill(temp_dir: str, name: str) -> None:
    for process in _processes_of(temp_dir):
        if process.name() == name:
            os.kill(process.pid, signal.SIGKILL)


def test_health_and_writes_fail_closed_when_the_gcs_and_raylet_die(lone_cluster):
    base_url, temp_dir = lone_cluster
    client = httpx.Client(base_url=base_url + "/organism", headers=ADMIN_HEADERS, timeout=10)
    eventually(lambda: client.get("/health").status_code == 200, timeout_s=60)
    assert client.put("/chain", json={"block": 25}).status_code == 200

    _kill(temp_dir, "gcs_server")
    killed_at = time.monotonic()
    health = eventually(lambda: (r := client.get("/health")).status_code == 503 and r, timeout_s=10)
    write = client.put("/chain", json={"block": 26})
    assert time.monotonic() - killed_at < 10
    assert health.json()["error"]["type"] == "ControlPlaneUnavailable"
    assert write.status_code == 503 and write.json()["error"]["type"] == "ControlPlaneUnavailable"

    _kill(temp_dir, "raylet")  # and with the raylet gone too, nothing is acknowledged
    for _ in range(20):
        try:
            assert client.put("/chain", json={"block": 27}).status_code == 503
        except httpx.TransportError:
            pass  # the proxy went with its raylet: refused, not acknowledged
        time.sleep(0.1)
