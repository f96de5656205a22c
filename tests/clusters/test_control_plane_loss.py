"""When Ray's control plane (GCS and raylet) is gone, the stack fails closed at once.

This test runs its own throwaway Ray cluster (killing the session's GCS would end
every other test), the organism deployed on it, then kills the GCS and the raylet.
"""

import time

import httpx
import pytest

from routing_cli.ingress import ingress_mode
from tests.clusters.lone_cluster import LoneCluster, lone_cluster
from tests.stack import ADMIN_HEADERS, eventually


@pytest.fixture
def cluster() -> LoneCluster:
    with lone_cluster(ingress_mode()) as running:
        yield running


def test_health_and_writes_fail_closed_when_the_gcs_and_raylet_die(cluster):
    client = httpx.Client(base_url=cluster.base_url + "/organism", headers=ADMIN_HEADERS, timeout=10)
    eventually(lambda: client.get("/health").status_code == 200, timeout_s=60)
    assert client.put("/chain", json={"block": 25}).status_code == 200

    cluster.kill("gcs_server")
    killed_at = time.monotonic()
    # each replica asks the GCS every second with a one-second budget: within seconds, every one refuses
    eventually(lambda: all(client.get("/health").status_code == 503 for _ in range(6)), timeout_s=10)
    assert time.monotonic() - killed_at < 10
    health, write = client.get("/health"), client.put("/chain", json={"block": 26})
    assert health.json()["error"]["type"] == "ControlPlaneUnavailable"
    assert write.status_code == 503 and write.json()["error"]["type"] == "ControlPlaneUnavailable"

    cluster.kill("raylet")  # and with the raylet gone too, nothing is acknowledged
    for _ in range(20):
        try:
            refused = client.put("/chain", json={"block": 27})
        except httpx.TransportError:
            continue  # the proxy went with its raylet: refused, not acknowledged
        finally:
            time.sleep(0.1)
        ours = refused.status_code == 503 and refused.json()["error"]["type"] == "ControlPlaneUnavailable"
        ingress_own = (  # HAProxy's own answers: no replica left, or its route table already emptied
            (refused.status_code == 500 and refused.text == "Internal Server Error")
            or (refused.status_code == 404 and refused.text.startswith("Path '/organism/chain' not found"))
        )
        assert ours or ingress_own, (refused.status_code, refused.text[:100])
