"""What every tier that runs the stack shares: tokens, clients, deploying the organism, waiting.

The deployments get the key set only; the tests mint with the signing key
(`tests.tokens`). `deploy_organism` runs the organism on whichever Ray
cluster the driver is connected to, in a namespace of its own, with fast
heartbeats; `deploy_full_stack` adds Cognitive and the Coordinator.
"""

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import ray
from ray import serve

from contracts.identity import Role
from organism.app import build_app as build_organism
from organism.settings import OrganismSettings
from tests.tokens import JWKS_JSON, SIGNER

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


REPO_ROOT = Path(__file__).resolve().parents[1]


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
        answer = self.client.get("/registry")  # a 503 while the registry starts on a busy box: none yet
        instances = answer.json()["instances"] if answer.status_code == 200 else []
        return {i["logical_id"]: i["instance_id"] for i in instances if i["active"]}

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


@dataclass
class FullStack:
    """The three applications under their real prefixes, on the session's Serve instance."""

    base_url: str
    organism: OrganismStack


def deploy_full_stack(serve_url: str, state_dir: Path, coordinator_replicas: int = 1,
                      **coordinator_args: Any) -> FullStack:
    from cognitive.app import build_app as build_cognitive
    from coordinator.app import Coordinator
    from coordinator.settings import CoordinatorSettings

    organism = deploy_organism(serve_url, state_dir)
    serve.run(build_cognitive({}), name="cognitive", route_prefix="/cognitive")
    args = {"routing_remote": True, "organ_namespace": organism.settings.namespace, **coordinator_args}
    coordinator = Coordinator.options(num_replicas=coordinator_replicas).bind(CoordinatorSettings(**args))
    serve.run(coordinator, name="coordinator", route_prefix="/pipeline")
    return FullStack(serve_url, organism)


def tear_down_full_stack(stack: FullStack) -> None:
    serve.delete("coordinator")
    serve.delete("cognitive")
    tear_down_organism(stack.organism)
