"""The operator's path, locally: k8s/rayservice.yaml as written comes up the way KubeRay brings it up, and serves.

What `kubectl apply -k k8s/` applies is read (tests/kustomize.py); its pods run on this
machine as tests/clusters/kuberay_local.py describes: the head and the worker group
with the manifest's rayStartParams, env and ports, completed as the operator completes
them; serveConfigV2 submitted through the dashboard's REST API and polled until every
application is RUNNING, as the operator does; then traffic through the port the serve
Service targets on each worker. The Secrets the manifest names are supplied here: the key
set from tests/tokens.py, a throwaway PostgreSQL's DSN, a Redis password; Redis itself runs
with its manifest's arguments. Anything in the manifest that would not come up fails here.

It starts a cluster of its own and always runs on PostgreSQL, as the manifest does.
"""

import contextlib
import secrets as random_secrets
import socket
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from tests import kustomize
from tests.clusters.kuberay_local import LocalRayService, running, wait_ready
from tests.kuberay_pods import expand, resolve_env, serve_service_port
from tests.postgres import throwaway_postgres
from tests.redis import throwaway_redis
from tests.stack import ADMIN_HEADERS, REPO_ROOT, SERVICE_HEADERS
from tests.tokens import JWKS_JSON

APPLIED = kustomize.build(REPO_ROOT / "k8s")
RAYSERVICE = next(d for d in APPLIED if d["kind"] == "RayService")
APPLICATIONS = ["organism", "coordinator", "cognitive"]
CALLS = [  # one real call per application, through the serve Service's port
    ("organism", "POST", "/organism/resolve-route", {"task": {"type": "graph_embed", "domain": "facts"}}),
    ("coordinator", "POST", "/pipeline/route", {"type": "graph_embed", "domain": "facts"}),
    ("cognitive", "POST", "/cognitive/plan-task", {"task": {"type": "graph_rag_query_v2", "domain": "facts"}}),
]

@contextlib.contextmanager
def redis_of_the_manifest(secrets: dict) -> Iterator[dict[str, str]]:
    """Redis run with its container's arguments; yields the Services (`name:port`) that lead to it."""
    workload = next(d for d in APPLIED if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "redis")
    container = workload["spec"]["template"]["spec"]["containers"][0]
    env = resolve_env(container.get("env", []), secrets)
    labels = workload["spec"]["template"]["metadata"]["labels"]
    volume = next((m["mountPath"] for m in container.get("volumeMounts", []) if m["name"] == "data"), None)
    with throwaway_redis([expand(arg, env) for arg in container["args"]], volume) as address:
        yield {f"{service['metadata']['name']}:{port['port']}": address
               for service in APPLIED if service["kind"] == "Service"
               and service["spec"]["selector"].items() <= labels.items() for port in service["spec"]["ports"]}


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[LocalRayService, dict]]:
    with throwaway_postgres() as postgres:
        secrets = {"routing-token-keys": {"jwks": JWKS_JSON}, "routing-postgres": {"dsn": postgres.dsn},
                   "routing-redis": {"password": random_secrets.token_urlsafe(18)}}
        with redis_of_the_manifest(secrets) as services, running(RAYSERVICE, secrets, services) as cluster:
            cluster.submit_serve_config()
            cluster.wait_until_running(timeout_s=180)
            wait_ready(cluster.workers, timeout_s=60)  # endpoints of the serve Service: ready workers only
            yield cluster, {**secrets, "redis": services}


def test_the_operator_sees_every_application_running(stack):
    cluster, _ = stack
    assert cluster.application_statuses() == dict.fromkeys(APPLICATIONS, "RUNNING")


def test_every_pod_passes_its_readiness_probe(stack):
    cluster, _ = stack
    assert [pod.name for pod in cluster.pods if not pod.ready()] == []


def test_every_declared_container_port_is_listened_on(stack):
    cluster, _ = stack
    silent = []
    for pod in cluster.pods:
        for port in pod.group.container["ports"]:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", pod.ports.local(port["containerPort"])), 2):
                continue
            silent.append(f"{pod.name}:{port['containerPort']} ({port.get('name')})")
    assert silent == []


@pytest.mark.parametrize("application, method, path, body", CALLS, ids=[c[0] for c in CALLS])
def test_each_worker_serves_through_the_serve_service_port(stack, application, method, path, body):
    cluster, _ = stack
    for worker in cluster.workers:
        url = worker.ports.url(serve_service_port(RAYSERVICE)) + path
        answer = httpx.request(method, url, json=body, headers=SERVICE_HEADERS, timeout=30)
        assert answer.status_code == 200, (worker.name, answer.status_code, answer.text[:300])


def test_state_is_written_to_the_database_of_the_secret(stack):
    cluster, secrets = stack
    url = cluster.workers[0].ports.url(serve_service_port(RAYSERVICE)) + "/organism/chain"
    assert httpx.put(url, json={"block": 25}, headers=ADMIN_HEADERS, timeout=30).status_code == 200
    with psycopg.connect(secrets["routing-postgres"]["dsn"]) as connection:
        assert connection.execute("SELECT count(*) FROM documents").fetchone()[0] > 0


def test_the_gcs_keeps_its_tables_in_redis(stack):
    _, secrets = stack
    host, port = next(iter(secrets["redis"].values())).split(":")
    password = secrets["routing-redis"]["password"]
    with socket.create_connection((host, int(port)), 5) as redis:
        redis.sendall(f"AUTH {password}\r\nDBSIZE\r\n".encode())
        replies = b""
        while replies.count(b"\r\n") < 2:
            replies += redis.recv(1024)
    auth, size = replies.decode().split("\r\n")[:2]
    assert auth == "+OK" and int(size.lstrip(":")) > 0
