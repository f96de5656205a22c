"""A RayService checked as strictly as the API server checks it against KubeRay's CRD.

k8s/schema/rayservice.schema.json (generated from the CRD by tests/crd_schema.py)
closes every KubeRay object and points at Kubernetes' own strict schemas for the
core types inside a RayService (pod templates, Services, env vars), which the
pinned `kubernetes-validate` ships for each Kubernetes version. JSON Schema has
no keyword for Kubernetes' list maps (`x-kubernetes-list-map-keys`: containers
by name, ports by containerPort and protocol, env vars by name, ...); the
validator here adds it, so two entries with the same keys fail as they fail
in the API server.
"""

import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

KUBERNETES_VERSION = "1.31.0"  # the oldest Kubernetes KubeRay 1.4+ supports that kubernetes-validate knows
SCHEMA = Path(__file__).resolve().parents[1] / "k8s" / "schema" / "rayservice.schema.json"
KEY_DEFAULTS = {"protocol": "TCP"}  # what the API server fills in before it compares the keys


def _unique_by_keys(validator: Any, keys: list[str], instance: Any, schema: dict) -> Iterator[jsonschema.ValidationError]:
    if not validator.is_type(instance, "array"):
        return
    seen: set[tuple] = set()
    for item in instance:
        if not isinstance(item, dict):
            continue
        key = tuple(item.get(name, KEY_DEFAULTS.get(name)) for name in keys)
        if key in seen:
            yield jsonschema.ValidationError(f"duplicate entries for key {dict(zip(keys, key, strict=True))}")
        seen.add(key)


KubernetesValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"x-kubernetes-list-map-keys": _unique_by_keys}
)


@cache
def _core_definitions() -> Resource:
    folder = resources.files("kubernetes_validate") / "kubernetes-json-schema" / f"v{KUBERNETES_VERSION}-local-strict"
    return Resource.from_contents(json.loads((folder / "_definitions.json").read_text()))


def validator(schema: dict[str, Any] | None = None) -> jsonschema.Validator:
    schema = schema if schema is not None else json.loads(SCHEMA.read_text())
    return KubernetesValidator(schema, registry=Registry().with_resource(_core_definitions().id(), _core_definitions()))


def errors(rayservice: dict[str, Any]) -> list[str]:
    """Every problem, each as `path: message` (empty when the RayService is valid)."""
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator().iter_errors(rayservice)]
