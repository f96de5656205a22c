"""The HTTP conventions hold under both ingresses, and HAProxy stays hardened.

The session runs behind the default ingress (HAProxy); a throwaway cluster of its
own runs the other one. Against each: tokens (401/403), the 422 envelope naming
fields, correlation and replica ids, the body and header limits, OpenAPI docs and
health. Then what Ray generated for HAProxy is read back: a server timeout, the
larger buffer, the admin socket in a private directory.
"""

import os
import stat
from pathlib import Path

import httpx
import pytest

from routing_cli.ingress import ingress_mode
from servekit.middleware import MAX_BODY_BYTES
from tests.clusters.lone_cluster import lone_cluster
from tests.stack import ADMIN_HEADERS, SERVICE_TOKEN, deploy_organism, eventually, tear_down_organism

OTHER = {"haproxy": "python", "python": "haproxy"}[ingress_mode()]


@pytest.fixture(scope="module", params=[ingress_mode(), OTHER])
def base_url(request, serve_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == ingress_mode():
        stack = deploy_organism(serve_url, tmp_path_factory.mktemp("ingress-state"))
        yield serve_url
        tear_down_organism(stack)
    else:
        with lone_cluster(request.param) as cluster:
            eventually(lambda: httpx.get(cluster.base_url + "/organism/health", timeout=10).status_code == 200, 60)
            yield cluster.base_url


def call(base_url: str, method: str, path: str, headers: dict[str, str] | None = None, **kwargs) -> httpx.Response:
    return httpx.request(method, base_url + "/organism" + path, headers=headers, timeout=30, **kwargs)


SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


@pytest.mark.parametrize(
    "case, method, path, headers, kwargs, status, error_type",
    [
        ("no token", "GET", "/registry", {}, {}, 401, "Unauthorized"),
        ("a service token on an admin route", "POST", "/routing/refresh", SERVICE, {}, 403, "Forbidden"),
        ("a field of the wrong type", "POST", "/resolve-route", SERVICE, {"json": {"task": {"type": 1}}}, 422, "ValidationError"),
        ("a body over 4 MiB", "POST", "/resolve-route", SERVICE, {"content": b"x" * (MAX_BODY_BYTES + 1)}, 413, "PayloadTooLarge"),
        ("64 KiB of headers", "GET", "/registry", {**SERVICE, "X-Junk": "x" * 65_536}, {}, 431, "RequestHeadersTooLarge"),
        ("health needs no token", "GET", "/health", {}, {}, 200, None),
        ("an admin token", "POST", "/routing/refresh", ADMIN_HEADERS, {}, 200, None),
    ],
)
def test_conventions(base_url, case, method, path, headers, kwargs, status, error_type):
    response = call(base_url, method, path, headers, **kwargs)
    assert response.status_code == status, (case, response.text[:200])
    if error_type:
        assert response.json()["error"]["type"] == error_type
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    if status == 422:
        assert response.json()["error"]["details"][0]["field"] == "task.type"


def test_correlation_and_replica_ids_and_docs(base_url):
    response = call(base_url, "GET", "/registry", {**SERVICE, "X-Correlation-ID": "ingress-1"})
    assert response.headers["x-correlation-id"] == "ingress-1" and response.headers["x-replica-id"] != "none"
    assert call(base_url, "GET", "/docs").status_code == 200
    assert "/resolve-route" in call(base_url, "GET", "/openapi.json").json()["paths"]


@pytest.mark.skipif(ingress_mode() != "haproxy", reason="the session runs Serve's Python proxy")
def test_haproxy_runs_with_a_server_timeout_a_larger_buffer_and_a_private_admin_socket(serve_url):
    private = Path(os.environ["RAY_SERVE_HAPROXY_CONFIG_FILE_LOC"]).parent
    assert stat.S_IMODE(private.stat().st_mode) == 0o700  # nobody else reaches the admin socket
    config = next(private.glob("*/haproxy.cfg")).read_text()
    assert "timeout server 60s" in config and "tune.bufsize 131072" in config
    socket_line = next(line for line in config.splitlines() if line.strip().startswith("stats socket"))
    assert str(private) in socket_line
    huge = httpx.get(serve_url + "/organism/health", headers={"X-Junk": "x" * 200_000}, timeout=30)
    assert huge.status_code == 400  # beyond HAProxy's own buffer it answers itself (documented)
