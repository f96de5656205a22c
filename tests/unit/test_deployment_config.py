"""Offline checks of what gets deployed: serve_config.yaml, the RayService, the plain manifests."""

import json
from pathlib import Path
from typing import Any, get_args

import kubernetes_validate
import pytest
import yaml
from pydantic import BaseModel
from ray.serve.schema import ServeDeploySchema

from cognitive.app import CognitiveSettings
from coordinator.settings import CoordinatorSettings
from organism.settings import OrganismSettings
from routing_cli.ingress import ingress_env
from routing_cli.kuberay import render_files
from tests.rayservice_schema import KUBERNETES_VERSION, errors

ROOT = Path(__file__).resolve().parents[2]
SERVE_CONFIG = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
RAYSERVICE = yaml.safe_load((ROOT / "k8s" / "rayservice.yaml").read_text())
SERVE_CONFIG_V2 = yaml.safe_load(RAYSERVICE["spec"]["serveConfigV2"])
APP_SETTINGS = {"organism": OrganismSettings, "coordinator": CoordinatorSettings, "cognitive": CognitiveSettings}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def unknown_keys(model: type[BaseModel], data: Any, path: str = "") -> list[str]:
    """Keys the model would silently ignore, anywhere in `data` (pydantic's extra='ignore' hides typos)."""
    if isinstance(data, list):
        return [k for i, item in enumerate(data) for k in unknown_keys(model, item, f"{path}[{i}]")]
    if not isinstance(data, dict):
        return []
    fields = {f.alias or name: f for name, f in model.model_fields.items()}
    found = []
    for key, value in data.items():
        if key not in fields:
            found.append(f"{path}.{key}".lstrip("."))
            continue
        for nested in _models_in(fields[key].annotation):
            found += unknown_keys(nested, value, f"{path}.{key}")
    return found


@pytest.mark.parametrize("name, config", [("serve_config.yaml", SERVE_CONFIG), ("serveConfigV2", SERVE_CONFIG_V2)])
def test_serve_configs_validate_strictly(name, config):
    ServeDeploySchema.model_validate(config)
    assert unknown_keys(ServeDeploySchema, config) == []
    for app in config["applications"]:
        APP_SETTINGS[app["name"]](**app.get("args", {}))  # extra="forbid": a misspelt arg fails


def test_strict_check_catches_a_misspelt_key():
    broken = json.loads(json.dumps(SERVE_CONFIG))
    broken["applications"][0]["deployments"][0]["num_replica"] = 3
    broken["applications"][0]["deployments"][0]["ray_actor_options"]["num_cpu"] = 1
    ServeDeploySchema.model_validate(broken)  # Serve itself accepts it silently
    assert unknown_keys(ServeDeploySchema, broken) == [
        "applications[0].deployments[0].ray_actor_options.num_cpu",
        "applications[0].deployments[0].num_replica",
    ]


def test_every_deployment_fits_two_cores_and_takes_concurrent_requests():
    for app in SERVE_CONFIG["applications"]:
        for deployment in app["deployments"]:
            cpus = deployment["ray_actor_options"]["num_cpus"]
            assert 0 <= cpus < 1, (app["name"], cpus)
            assert deployment["max_ongoing_requests"] >= 100
    assert SERVE_CONFIG["http_options"] == {"host": "127.0.0.1", "port": 8000}


def test_rayservice_is_rendered_from_serve_config():
    assert (ROOT / "k8s" / "rayservice.yaml").read_text() == render_files(ROOT), "run `make k8s`"
    assert SERVE_CONFIG_V2["http_options"]["host"] == "0.0.0.0"
    without_cluster_changes = json.loads(json.dumps(SERVE_CONFIG_V2))
    without_cluster_changes["http_options"]["host"] = "127.0.0.1"
    replicas = {"OrganismManager": 2, "Coordinator": 1}  # serve_config.yaml's fixed counts, for a laptop
    for app in without_cluster_changes["applications"]:
        for deployment in app["deployments"]:
            if deployment["name"] in replicas:
                autoscaling = deployment.pop("autoscaling_config")
                assert autoscaling["min_replicas"] == replicas[deployment["name"]] < autoscaling["max_replicas"]
                deployment["num_replicas"] = replicas[deployment["name"]]
    coordinator = next(a for a in without_cluster_changes["applications"] if a["name"] == "coordinator")
    assert coordinator["deployments"][0].pop("user_config") == {"routing_remote": True, "routing_remote_types": (
        "graph_embed,graph_rag_query,graph_embed_v2,graph_rag_query_v2")}
    assert without_cluster_changes == SERVE_CONFIG


def test_rayservice_matches_the_schema_and_upgrades_safely():
    assert errors(RAYSERVICE) == []
    spec, cluster = RAYSERVICE["spec"], RAYSERVICE["spec"]["rayClusterConfig"]
    head = cluster["headGroupSpec"]
    assert spec["upgradeStrategy"] == {"type": "NewCluster"} and spec["excludeHeadPodFromServeSvc"] is True
    assert head["rayStartParams"]["num-cpus"] == "0" and cluster["enableInTreeAutoscaling"] is True
    assert "volumes" not in head["template"]["spec"]  # no state on the head: it is in PostgreSQL
    assert cluster["gcsFaultToleranceOptions"]["redisPassword"]["valueFrom"]["secretKeyRef"]["name"] == "routing-redis"
    pods = [head["template"]] + [g["template"] for g in cluster["workerGroupSpecs"]]
    for pod in pods:
        env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
        assert env["ROUTING_TOKEN_PUBLIC_KEYS"]["valueFrom"]["secretKeyRef"] == {"name": "routing-token-keys", "key": "jwks"}
        assert not {"ROUTING_TOKEN_PRIVATE_KEY_FILE", "ROUTING_TOKEN_SECRET"} & set(env)  # no pod can mint
        assert env["ROUTING_STATE_DSN"]["valueFrom"]["secretKeyRef"] == {"name": "routing-postgres", "key": "dsn"}


def test_every_pod_runs_the_haproxy_ingress_of_make_run():
    cluster = RAYSERVICE["spec"]["rayClusterConfig"]
    pods = [cluster["headGroupSpec"]["template"]] + [g["template"] for g in cluster["workerGroupSpecs"]]
    for pod in pods:
        container = pod["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert ingress_env("haproxy").items() <= env.items()
        assert {"containerPort": 9101, "name": "haproxy-metrics"} in container["ports"]


PLAIN_MANIFESTS = ["redis.yaml", "network-policy.yaml", "samples/postgres.yaml"]


@pytest.mark.parametrize("manifest", PLAIN_MANIFESTS)
def test_plain_kubernetes_manifests_validate_strictly(manifest):
    for document in yaml.safe_load_all((ROOT / "k8s" / manifest).read_text()):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_strict_validator_catches_a_misspelt_field():
    policy = next(yaml.safe_load_all((ROOT / "k8s" / "network-policy.yaml").read_text()))
    policy["spec"]["podSelectr"] = policy["spec"].pop("podSelector")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(policy, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_it_applies():
    listed = yaml.safe_load((ROOT / "k8s" / "kustomization.yaml").read_text())["resources"]
    assert listed == ["redis.yaml", "rayservice.yaml", "network-policy.yaml"]
    assert all((ROOT / "k8s" / name).exists() for name in listed)
