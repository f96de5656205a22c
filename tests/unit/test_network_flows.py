"""Every flow a RayService needs is open and every other one is closed, under the NetworkPolicies that
`kubectl apply -k k8s/` and `-k k8s/samples/` apply (evaluated by tests/network_policy.py).

The pods are made from the manifests: the Ray pods carry the labels KubeRay gives them
(tests/kuberay_pods.py), and the ports below are the manifests' own, so a port moved in a
manifest but not in a policy fails here.
"""

import copy
from pathlib import Path

import pytest
import yaml

from tests import kustomize
from tests.kuberay_pods import Group, groups, pod_labels
from tests.network_policy import Cluster, Pod

ROOT = Path(__file__).resolve().parents[2]
APP = "routing"  # the namespace `kubectl apply -k k8s/` runs in
KUSTOMIZATION = yaml.safe_load((ROOT / "k8s" / "kustomization.yaml").read_text())
OPERATOR_NAMESPACE = yaml.safe_load(KUSTOMIZATION["patches"][0]["patch"])[0]["value"]
APPLIED = kustomize.build(ROOT / "k8s") + kustomize.build(ROOT / "k8s" / "samples")
RAYSERVICE = next(d for d in APPLIED if d["kind"] == "RayService")
CLUSTER_NAME = RAYSERVICE["metadata"]["name"] + "-x7k2p"  # the RayCluster the RayService creates


def ray_pod(name: str, group: Group, node_type: str | None = None) -> Pod:
    labels = pod_labels(CLUSTER_NAME, group)
    if node_type:
        labels["ray.io/node-type"] = node_type
    return Pod(name, APP, labels, {p["name"]: p["containerPort"] for p in group.container["ports"] if "name" in p})


def workload_pod(kind: str, name: str) -> Pod:
    template = next(d for d in APPLIED if d["kind"] == kind and d["metadata"]["name"] == name)["spec"]["template"]
    ports = {p["name"]: p["containerPort"] for c in template["spec"]["containers"] for p in c["ports"]}
    return Pod(name, APP, template["metadata"]["labels"], ports)


HEAD_GROUP, WORKER_GROUP = groups(RAYSERVICE)[:2]
HEAD, WORKER, OTHER_WORKER = ray_pod("head", HEAD_GROUP), ray_pod("worker", WORKER_GROUP), ray_pod("worker-2", WORKER_GROUP)
REDIS_CLEANUP = ray_pod("redis-cleanup", HEAD_GROUP, node_type="redis-cleanup")  # KubeRay's Job: the head's labels
REDIS, POSTGRES = workload_pod("StatefulSet", "redis"), workload_pod("StatefulSet", "routing-postgres")
OPERATOR = Pod("kuberay-operator", OPERATOR_NAMESPACE,  # Helm's labels; KubeRay's kustomize install has the same component
               {"app.kubernetes.io/name": "kuberay-operator", "app.kubernetes.io/component": "kuberay-operator"})
PROMETHEUS = Pod("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"})
CLIENT = Pod("client", APP, {"app": "client"})
STRANGER = Pod("stranger", "elsewhere", {"app": "stranger"})
LOOKALIKE = Pod("operator-lookalike", APP, {"app.kubernetes.io/component": "kuberay-operator"})
NEIGHBOUR = Pod("operator-neighbour", OPERATOR_NAMESPACE, {"app": "something-else"})

DASHBOARD, GCS = HEAD.ports["dashboard"], HEAD.ports["gcs-server"]
SERVE, METRICS, HAPROXY_METRICS = WORKER.ports["serve"], WORKER.ports["metrics"], WORKER.ports["haproxy-metrics"]
HAPROXY_STATS = int(next(e["value"] for e in WORKER_GROUP.container["env"] if e["name"] == "RAY_SERVE_HAPROXY_STATS_PORT"))
REDIS_PORT, POSTGRES_PORT = REDIS.ports["redis"], POSTGRES.ports["postgres"]
RAYLET_PORT, DIRECT_INGRESS_PORT = 45_123, 30_000  # a port Ray picks; Serve's replica ports start at 30000

FLOWS = [  # what, from, to, port, allowed
    ("the operator submits serveConfigV2 and polls status", OPERATOR, HEAD, DASHBOARD, True),
    ("workers join the head's GCS", WORKER, HEAD, GCS, True),
    ("the head reaches a worker's raylet", HEAD, WORKER, RAYLET_PORT, True),
    ("HAProxy on the head forwards to a replica on a worker", HEAD, WORKER, DIRECT_INGRESS_PORT, True),
    ("workers exchange objects", WORKER, OTHER_WORKER, RAYLET_PORT, True),
    ("Prometheus scrapes Ray's metrics on the head", PROMETHEUS, HEAD, METRICS, True),
    ("Prometheus scrapes Ray's metrics on a worker", PROMETHEUS, WORKER, METRICS, True),
    ("Prometheus scrapes HAProxy's exporter", PROMETHEUS, WORKER, HAPROXY_METRICS, True),
    ("a client in the namespace calls the API (serve Service)", CLIENT, WORKER, SERVE, True),
    ("a client elsewhere calls the API (serve Service)", STRANGER, WORKER, SERVE, True),
    ("the head reaches PostgreSQL", HEAD, POSTGRES, POSTGRES_PORT, True),
    ("a worker reaches PostgreSQL", WORKER, POSTGRES, POSTGRES_PORT, True),
    ("the head's GCS reaches Redis", HEAD, REDIS, REDIS_PORT, True),
    ("KubeRay's Redis cleanup Job reaches Redis", REDIS_CLEANUP, REDIS, REDIS_PORT, True),
    ("a client reads HAProxy's stats page on a worker", CLIENT, WORKER, HAPROXY_STATS, False),
    ("a client reads HAProxy's stats page on the head", CLIENT, HEAD, HAPROXY_STATS, False),
    ("Prometheus reads HAProxy's stats page", PROMETHEUS, WORKER, HAPROXY_STATS, False),
    ("a pod elsewhere reads HAProxy's stats page", STRANGER, HEAD, HAPROXY_STATS, False),
    ("a client in the namespace reaches the dashboard", CLIENT, HEAD, DASHBOARD, False),
    ("a pod elsewhere reaches the dashboard", STRANGER, HEAD, DASHBOARD, False),
    ("Prometheus reaches the dashboard", PROMETHEUS, HEAD, DASHBOARD, False),
    ("a pod labelled as the operator outside its namespace", LOOKALIKE, HEAD, DASHBOARD, False),
    ("another pod in the operator's namespace", NEIGHBOUR, HEAD, DASHBOARD, False),
    ("the operator reaches the GCS", OPERATOR, HEAD, GCS, False),
    ("a client reaches the GCS", CLIENT, HEAD, GCS, False),
    ("a client reaches PostgreSQL", CLIENT, POSTGRES, POSTGRES_PORT, False),
    ("a pod elsewhere reaches PostgreSQL", STRANGER, POSTGRES, POSTGRES_PORT, False),
    ("the operator reaches PostgreSQL", OPERATOR, POSTGRES, POSTGRES_PORT, False),
    ("a client reaches Redis", CLIENT, REDIS, REDIS_PORT, False),
    ("Prometheus reaches Redis", PROMETHEUS, REDIS, REDIS_PORT, False),
]


def policies(documents: list[dict]) -> Cluster:
    return Cluster([d for d in documents if d["kind"] == "NetworkPolicy"], default_namespace=APP)


@pytest.mark.parametrize("what, source, destination, port, allowed", FLOWS, ids=[f[0] for f in FLOWS])
def test_flow(what, source, destination, port, allowed):
    assert policies(APPLIED).allows(source, destination, port) is allowed


def test_the_operator_namespace_is_the_kustomization_parameter():
    kustomization = copy.deepcopy(KUSTOMIZATION)
    kustomization["patches"][0]["patch"] = kustomization["patches"][0]["patch"].replace(
        f"value: {OPERATOR_NAMESPACE}", "value: ray-system")
    moved = policies(kustomize.build(ROOT / "k8s", kustomization))
    assert moved.allows(Pod("op", "ray-system", OPERATOR.labels), HEAD, DASHBOARD)
    assert not moved.allows(OPERATOR, HEAD, DASHBOARD)
