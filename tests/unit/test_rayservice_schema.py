"""The RayService schema is as strict as KubeRay's CRD: each typo the API server would silently
drop is rejected, each field the CRD and the operator accept is accepted (tests/rayservice_schema.py)."""

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.rayservice_schema import errors

ROOT = Path(__file__).resolve().parents[2]
RAYSERVICE = yaml.safe_load((ROOT / "k8s" / "rayservice.yaml").read_text())
CLUSTER = "spec.rayClusterConfig"
HEAD_CONTAINER = f"{CLUSTER}.headGroupSpec.template.spec.containers.0"
WORKERS = f"{CLUSTER}.workerGroupSpecs.0"
WORKER_POD = f"{WORKERS}.template"


def _walk(document: Any, path: str) -> tuple[Any, str | int]:
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    for part in parents:
        document = document[part]
    return document, last


def set_(path: str, value: Any) -> Callable[[dict], None]:
    def edit(document: dict) -> None:
        parent, last = _walk(document, path)
        parent[last] = value
    return edit


def rename(path: str, new_name: str) -> Callable[[dict], None]:
    def edit(document: dict) -> None:
        parent, last = _walk(document, path)
        parent[new_name] = parent.pop(last)
    return edit


def append(path: str, value: Any) -> Callable[[dict], None]:
    def edit(document: dict) -> None:
        parent, last = _walk(document, path)
        parent[last].append(value)
    return edit


def edited(*edits: Callable[[dict], None]) -> dict:
    document = copy.deepcopy(RAYSERVICE)
    for edit in edits:
        edit(document)
    return document


SECRET = {"name": "routing-postgres", "key": "dsn"}
REJECTED = [  # what Kubernetes would drop without a word, or refuse, and the schema must refuse
    ("container resourcez", rename(f"{HEAD_CONTAINER}.resources", "resourcez")),
    ("resources requsts", rename(f"{HEAD_CONTAINER}.resources.requests", "requsts")),
    ("pod spec nodeSelectr", set_(f"{WORKER_POD}.spec.nodeSelectr", {"pool": "ray"})),
    ("upgradeStrategy typ", rename("spec.upgradeStrategy.type", "typ")),
    ("template metadata labelz", rename(f"{WORKER_POD}.metadata.labels", "labelz")),
    ("env secretKeyRef optionl", set_(f"{HEAD_CONTAINER}.env.1.valueFrom.secretKeyRef.optionl", True)),
    ("redisPassword secretKeyRef optionl",
     set_(f"{CLUSTER}.gcsFaultToleranceOptions.redisPassword.valueFrom.secretKeyRef.optionl", True)),
    ("a duplicate containerPort", append(f"{HEAD_CONTAINER}.ports", {"containerPort": 8000, "name": "serve-again"})),
    ("a duplicate env var", append(f"{HEAD_CONTAINER}.env", {"name": "RAY_SERVE_ENABLE_HA_PROXY", "value": "0"})),
    ("a worker group field typo", rename(f"{WORKERS}.replicas", "replica")),
    ("a rayStartParams number", set_(f"{CLUSTER}.headGroupSpec.rayStartParams.num-cpus", 0)),
    ("an unknown upgrade type", set_("spec.upgradeStrategy.type", "Recreate")),
    ("negative replicas", set_(f"{WORKERS}.replicas", -1)),
    ("replicas beyond int32", set_(f"{WORKERS}.replicas", 2**31)),
    ("an autoscaler version typo", set_(f"{CLUSTER}.autoscalerOptions.version", "V2")),
    ("a feature-gated field", set_(f"{CLUSTER}.networkPolicy", {"mode": "DenyAll"})),
    ("a named head service", set_(f"{CLUSTER}.headGroupSpec.headService", {"metadata": {"name": "my-head"}})),
    ("a name of 48 characters", set_("metadata.name", "r" * 48)),
    ("a name starting with a digit", set_("metadata.name", "1-routing")),
    ("a name with a dot", set_("metadata.name", "routing.control")),
    ("no serveConfigV2", lambda document: document["spec"].pop("serveConfigV2")),
]
ACCEPTED = [  # valid for the CRD and the operator, though these manifests do not use them all
    ("the manifest as written", lambda document: None),
    ("spec.suspend", set_("spec.suspend", True)),
    ("rayClusterDeletionDelaySeconds", set_("spec.rayClusterDeletionDelaySeconds", 120)),
    ("headGroupSpec.headService", set_(f"{CLUSTER}.headGroupSpec.headService",
                                       {"metadata": {"annotations": {"team": "routing"}}, "spec": {"type": "ClusterIP"}})),
    ("workerGroupSpecs[].idleTimeoutSeconds", set_(f"{WORKERS}.idleTimeoutSeconds", 300)),
    ("scaleStrategy", set_(f"{WORKERS}.scaleStrategy", {"workersToDelete": ["routing-control-plane-workers-abcde"]})),
    ("env valueFrom.fieldRef", append(f"{HEAD_CONTAINER}.env",
                                      {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})),
    ("env valueFrom.configMapKeyRef", append(f"{HEAD_CONTAINER}.env", {
        "name": "EXTRA", "valueFrom": {"configMapKeyRef": {"name": "routing", "key": "extra", "optional": True}}})),
    ("the same port over UDP", append(f"{HEAD_CONTAINER}.ports", {"containerPort": 8000, "protocol": "UDP", "name": "u"})),
    ("serveService", set_("spec.serveService", {"spec": {"type": "ClusterIP", "ports": [{"name": "serve", "port": 8000}]}})),
    ("a pod spec field", set_(f"{WORKER_POD}.spec.nodeSelector", {"pool": "ray"})),
    ("a name of 47 characters", set_("metadata.name", "r" * 47)),
    ("secretKeyRef optional", set_(f"{HEAD_CONTAINER}.env.1.valueFrom.secretKeyRef", {**SECRET, "optional": False})),
    ("deploymentUnhealthySecondThreshold", set_("spec.deploymentUnhealthySecondThreshold", 300)),
]


@pytest.mark.parametrize("case, edit", REJECTED, ids=[c[0] for c in REJECTED])
def test_the_schema_rejects(case, edit):
    assert errors(edited(edit)), case


@pytest.mark.parametrize("case, edit", ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_the_schema_accepts(case, edit):
    assert errors(edited(edit)) == []
