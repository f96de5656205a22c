"""One local Ray cluster and Serve instance for the whole test session.

Applications are deployed per test module and deleted afterwards; detached
actors of a module live in their own namespace and are killed with it. The
session's state is SQLite unless `ROUTING_TEST_STATE=postgres`; modules whose
behaviour depends on the state backend are marked `backend` and `make test`
runs them once more on PostgreSQL.
"""

import os
import shutil

import pytest
import ray
from ray import serve

from routing_cli.ingress import free_port, ingress_env, ingress_mode, private_directory
from tests.stack import AUTH_ENV, REPO_ROOT, OrganismStack, deploy_organism, tear_down_organism


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
    # ports of its own: another test session (or `make run`) may hold the default ones
    os.environ.update(ingress_env(ingress_mode(), private, drain_s=0, ports=(free_port(), free_port())))
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
    shutil.rmtree(private, ignore_errors=True)  # HAProxy's sockets and config


@pytest.fixture(scope="module")
def organism(serve_url: str, tmp_path_factory: pytest.TempPathFactory) -> OrganismStack:
    # a cache TTL far longer than any wait here: a replica missed by a refresh would still answer from cache
    stack = deploy_organism(serve_url, tmp_path_factory.mktemp("organism-state"), instance_cache_ttl_s=60.0)
    yield stack
    tear_down_organism(stack)


