"""What tests/kuberay_pods.py says the operator makes of k8s/rayservice.yaml (KubeRay v1.7.0's pod.go)."""

import copy
from pathlib import Path

import pytest
import yaml

from tests.kuberay_pods import (
    PodFailed,
    groups,
    operator_env,
    pod_labels,
    ray_start_flags,
    resolve_env,
    serve_service_port,
    start_params,
)

ROOT = Path(__file__).resolve().parents[2]
RAYSERVICE = yaml.safe_load((ROOT / "k8s" / "rayservice.yaml").read_text())
HEAD, WORKERS = groups(RAYSERVICE)
ADDRESS = "routing-control-plane-head-svc.routing.svc.cluster.local:6379"
GIB4 = str(4 * 2**30)


@pytest.mark.parametrize("group, expected", [
    (HEAD, {"num-cpus": "0", "dashboard-host": "0.0.0.0", "metrics-export-port": "8080", "block": "true",
            "dashboard-agent-listen-port": "52365", "no-monitor": "true", "redis-password": "$REDIS_PASSWORD",
            "memory": GIB4}),
    (WORKERS, {"num-cpus": "2", "metrics-export-port": "8080", "block": "true", "dashboard-agent-listen-port": "52365",
               "address": ADDRESS, "memory": GIB4}),
], ids=["head", "workers"])
def test_the_operator_completes_the_start_params(group, expected):
    assert start_params(RAYSERVICE, group, ADDRESS) == expected


def test_num_cpus_comes_from_the_cpu_limit_rounded_up_when_unset():
    service = copy.deepcopy(RAYSERVICE)
    worker = service["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]
    del worker["rayStartParams"]["num-cpus"]
    worker["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "1500m"
    assert start_params(service, groups(service)[1], ADDRESS)["num-cpus"] == "2"


def test_flags_are_sorted_and_true_is_a_bare_switch():
    assert ray_start_flags(HEAD, {"num-cpus": "0", "block": "true", "include-dashboard": "false", "log-color": "true",
                                  "disable-usage-stats": "false"}) == [
        "--head", "--block", "--include-dashboard=false", "--log-color=true", "--num-cpus=0"]


def test_the_operator_adds_gcs_fault_tolerance_and_the_autoscaler_switch_to_the_head():
    env = {e["name"]: e for e in operator_env(RAYSERVICE, HEAD, "routing-control-plane-x7k2p", "127.0.0.1:6379")}
    assert env["RAY_REDIS_ADDRESS"]["value"] == "redis:6379"
    assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "routing-redis", "key": "password"}
    assert env["RAY_enable_autoscaler_v2"]["value"] == "true"
    assert env["RAY_SERVE_KV_TIMEOUT_S"]["value"] == "5"
    assert "RAY_gcs_rpc_server_reconnect_timeout_s" not in env


def test_workers_wait_longer_for_a_restarting_gcs():
    env = {e["name"]: e["value"] for e in operator_env(RAYSERVICE, WORKERS, "c", "h:6379")}
    assert env["RAY_gcs_rpc_server_reconnect_timeout_s"] == "600" and "RAY_REDIS_ADDRESS" not in env


def test_secrets_resolve_and_references_expand():
    entries = [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
               {"name": "B", "value": "x-$(A)-$(UNKNOWN)"}]
    assert resolve_env(entries, {"s": {"k": "v"}}) == {"A": "v", "B": "x-v-$(UNKNOWN)"}


def test_a_missing_secret_key_keeps_the_pod_from_starting():
    with pytest.raises(PodFailed, match="has no key 'jwks'"):
        resolve_env(WORKERS.container["env"], {"routing-token-keys": {}, "routing-postgres": {"dsn": "x"}})


def test_the_template_labels_override_kuberays_except_cluster_type_and_group():
    labels = pod_labels("routing-control-plane-x7k2p", WORKERS)
    assert labels["app.kubernetes.io/name"] == "routing-control-plane"
    assert (labels["ray.io/cluster"], labels["ray.io/node-type"], labels["ray.io/group"]) == (
        "routing-control-plane-x7k2p", "worker", "workers")


def test_the_serve_service_targets_the_head_containers_serve_port():
    assert serve_service_port(RAYSERVICE) == 8000
    service = copy.deepcopy(RAYSERVICE)
    head = service["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    head["ports"] = [p for p in head["ports"] if p["name"] != "serve"]
    with pytest.raises(PodFailed, match="no port named serve"):
        serve_service_port(service)


def test_a_container_field_the_translation_does_not_model_fails_loudly():
    service = copy.deepcopy(RAYSERVICE)
    service["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["volumeMounts"] = []
    with pytest.raises(NotImplementedError, match="volumeMounts"):
        groups(service)
