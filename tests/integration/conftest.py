"""One local Ray cluster and Serve instance for the whole test session.

Applications are deployed per test module and deleted afterwards; detached
actors of a module live in their own namespace and are killed with it.
"""

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import ray
from ray import serve

from contracts.identity import Role
from organism.app import build_app as build_organism
from organism.settings import OrganismSettings
from routing_cli.ingress import free_port, ingress_env, ingress_mode, private_directory
from tests.tokens import JWKS_JSON, SIGNER

# the deployments get the key set only; the tests mint with the signing key
AUTH_ENV = {"ROUTING_TOKEN_PUBLIC_KEYS": JWKS_JSON}
ADMIN_TOKEN = SIGNER.mint("tests", Role.ADMIN)
SERVICE_TOKEN = SIGNER.mint("tests", Role.SERVICE)
FACTS_TOKEN = SIGNER.mint("tests-feeder", Role.FACTS)
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SERVICE_HEADERS = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
FACTS_HEADERS = {"Authorization": f"Bearer {FACTS_TOKEN}"}


def http_client(base_url: str, **options: Any) -> httpx.Client:
    """A client that authenticates as an admin unless the test overrides the header."""
    return httpx.Client(base_url=base_url, headers=ADMIN_HEADERS, timeout=30, **options)


REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def state_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """ROUTING_TEST_STATE=postgres runs the session's state in a throwaway PostgreSQL; else SQLite."""
    if os.environ.get("ROUTING_TEST_STATE", "sqlite") != "postgres":
        return {}
    return {"ROUTING_STATE_DSN": request.getfixturevalue("postgres_dsn")}


@pytest.fixture(scope="session")
def serve_url(tmp_path_factory: pytest.TempPathFactory, state_env: dict[str, str]) -> str:
    # The session's ingress, HAProxy unless ROUTING_INGRESS=python; Ray reads it when it starts.
    private = private_directory()
    os.environ.update({**ingress_env(ingress_mode(), private, drain_s=0), **state_env})
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        namespace="routing-tests",
        log_to_driver=bool(os.environ.get("TEST_RAY_LOGS")),
        # workers import test-only deployments (tests.integration.*) from the repository root
        runtime_env={"env_vars": {"PYTHONPATH": str(REPO_ROOT), **AUTH_ENV, **state_env}},
    )
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    yield f"http://127.0.0.1:{port}"
    serve.shutdown()
    ray.shutdown()


def eventually(check: Callable[[], Any], timeout_s: float = 15.0, interval_s: float = 0.1) -> Any:
    """Poll until `check` returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s}s; last value: {last!r}")


@dataclass
class OrganismStack:
    base_url: str
    args: dict[str, Any]
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.settings = OrganismSettings(**self.args)
        self.client = http_client(self.base_url + "/organism")

    def redeploy(self) -> None:
        """Deploy this organism again (after a test deleted or replaced it) and wait for its organs."""
        serve.run(build_organism(self.args), name="organism", route_prefix="/organism")
        eventually(self.all_organs_active)

    def registry_actor(self) -> ray.actor.ActorHandle:
        return ray.get_actor(self.settings.registry_actor_name, namespace=self.settings.namespace)

    def organ_actor(self, actor_name: str) -> ray.actor.ActorHandle:
        return ray.get_actor(actor_name, namespace=self.settings.namespace)

    def active_instances(self) -> dict[str, str]:
        body = self.client.get("/registry").json()
        return {i["logical_id"]: i["instance_id"] for i in body["instances"] if i["active"]}

    def all_organs_active(self) -> bool:
        return set(self.active_instances()) == set(self.settings.organs)

    def resolve(self, task_type: str, domain: str | None = None, **extra: Any) -> dict[str, Any]:
        response = self.client.post(
            "/resolve-route", json={"task": {"type": task_type, "domain": domain}, **extra}
        )
        assert response.status_code == 200, response.text
        return response.json()


FAST_HEARTBEATS = {
    "heartbeat_interval_s": 0.3,
    "heartbeat_jitter_s": 0.1,
    "heartbeat_timeout_s": 2.0,
    "instance_cache_ttl_s": 0.5,
}


def deploy_organism(serve_url: str, state_dir: Path, **overrides: Any) -> OrganismStack:
    args = {
        "namespace": f"it-{uuid.uuid4().hex[:8]}",
        "state_dir": str(state_dir),
        **FAST_HEARTBEATS,
        **overrides,
    }
    stack = OrganismStack(serve_url, args)
    stack.redeploy()
    return stack


def tear_down_organism(stack: OrganismStack) -> None:
    stack.client.close()
    serve.delete("organism")  # a no-op when a test deleted it already
    names = [stack.settings.registry_actor_name, stack.settings.picker_actor_name, *stack.settings.organ_actor_names()]
    for name in names:
        try:
            ray.kill(ray.get_actor(name, namespace=stack.settings.namespace))
        except ValueError:
            pass  # already gone


@pytest.fixture(scope="module")
def organism(serve_url: str, tmp_path_factory: pytest.TempPathFactory) -> OrganismStack:
    # a cache TTL far longer than any wait here: a replica missed by a refresh would still answer from cache
    stack = deploy_organism(serve_url, tmp_path_factory.mktemp("organism-state"), instance_cache_ttl_s=60.0)
    yield stack
    tear_down_organism(stack)


@dataclass
class FullStack:
    """The three applications under their real prefixes, on the session's Serve instance."""

    base_url: str
    organism: OrganismStack


def deploy_full_stack(serve_url: str, state_dir: Path, **coordinator_args: Any) -> FullStack:
    from cognitive.app import build_app as build_cognitive
    from coordinator.app import build_app as build_coordinator

    organism = deploy_organism(serve_url, state_dir)
    serve.run(build_cognitive({}), name="cognitive", route_prefix="/cognitive")
    args = {"routing_remote": True, "organ_namespace": organism.settings.namespace, **coordinator_args}
    serve.run(build_coordinator(args), name="coordinator", route_prefix="/pipeline")
    return FullStack(serve_url, organism)


def tear_down_full_stack(stack: FullStack) -> None:
    serve.delete("coordinator")
    serve.delete("cognitive")
    tear_down_organism(stack.organism)
