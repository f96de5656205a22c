"""The contract's flags: from the environment with the shipped config, and live through
Serve's `user_config` without restarting a replica.

Deployed the way `serve deploy serve_config.yaml` (and KubeRay) deploys: a config
applied by Serve's controller, the coordinator's args without any flag.
"""

import pytest
from ray import serve
from ray.serve.context import _get_global_client
from ray.serve.schema import ServeDeploySchema

from tests.stack import OrganismStack, deploy_organism, http_client, tear_down_organism

APP = "flags-under-test"


@pytest.fixture(scope="module")
def organism(serve_url: str, tmp_path_factory: pytest.TempPathFactory) -> OrganismStack:
    stack = deploy_organism(serve_url, tmp_path_factory.mktemp("flags-state"))
    yield stack
    serve.delete(APP)
    tear_down_organism(stack)


def deploy(organism: OrganismStack, env: dict[str, str], user_config: dict | None = None):
    # no flag in the args, as shipped; a generous budget: the first call also finds the organism's handle
    args = {"organ_namespace": organism.settings.namespace, "route_single_timeout_s": 2.0,
            "route_bulk_timeout_s": 2.0, "route_budget_ceiling_s": 2.0}
    deployment = {"name": "Coordinator", "ray_actor_options": {"num_cpus": 0.1}}
    if user_config is not None:
        deployment["user_config"] = user_config
    config = {"applications": [{"name": APP, "route_prefix": "/flags", "import_path": "coordinator.app:build_app",
                                "args": args, "runtime_env": {"env_vars": env}, "deployments": [deployment]}]}
    _get_global_client().deploy_apps(ServeDeploySchema.model_validate(config), _blocking=True)
    return serve.get_app_handle(APP)


def route(organism: OrganismStack, task_type: str = "graph_embed") -> dict:
    with http_client(organism.base_url + "/flags") as client:
        return client.post("/route", json={"type": task_type}).json()


@pytest.mark.parametrize("value, source", [("false", "static"), ("true", "remote")])
def test_routing_remote_from_the_environment(organism, value, source):
    deploy(organism, env={"ROUTING_REMOTE": value})
    answer = route(organism)
    assert answer["route_source"] == source, answer
    if source == "static":
        assert answer["status"] == "remote_disabled"


def test_user_config_changes_the_flags_live_without_restarting_the_replica(organism):
    handle = deploy(organism, env={"ROUTING_REMOTE": "false"}, user_config={"routing_remote": True})
    before = handle.stats.remote().result()
    assert before["flags"]["routing_remote"] is True and route(organism)["route_source"] == "remote"
    deploy(organism, env={"ROUTING_REMOTE": "false"},
           user_config={"routing_remote": True, "routing_remote_types": "fact_search"})
    after = handle.stats.remote().result()
    assert after["pid"] == before["pid"]  # reconfigured in place
    assert after["flags"]["routing_remote_types"] == ["fact_search"]
    assert route(organism, "graph_embed")["status"] == "remote_disabled"
    assert route(organism, "fact_search")["route_source"] == "remote"
