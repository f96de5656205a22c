"""Regenerates k8s/schema/rayservice.schema.json from KubeRay's RayService CRD.

    python -m tests.crd_schema <kuberay>/ray-operator/config/crd/bases/ray.io_rayservices.yaml \\
        > k8s/schema/rayservice.schema.json
    python -m tests.crd_schema --check <that CRD>    # is the committed schema current?

The CRD is a structural schema: the API server prunes every field it does not
declare, so a typo is silently dropped. This turns it into a JSON schema that
rejects it instead, keeping the CRD's own structure and types:
- every object the CRD declares fields for is closed (`additionalProperties: false`);
- `int32` fields get their range, int-or-string quantities their pattern;
- a field the API server defaults is not required (defaulting runs first);
- list-map keys (`x-kubernetes-list-map-keys`) are kept, for tests/rayservice_schema.py;
- where the CRD inlines a core Kubernetes type (a pod spec, a Service spec, an env
  var, ...), the schema points at Kubernetes' own strict schema of that type, which
  the pinned `kubernetes-validate` ships: a typo in a container is caught by the
  same schema that catches it in a Deployment;
- the operator's own rules that the CRD cannot say (`utils/validation.go`: the
  name, the upgrade types, non-negative counts) are added from OPERATOR_RULES;
- fields behind a feature gate that is off by default are left out (EXCLUDED),
  so they are rejected.
The CRD is not in this repository; the version it came from is KUBERAY_VERSION.
"""

import json
import sys
from pathlib import Path
from typing import Any

import yaml

KUBERAY_VERSION = "v1.7.0"
CORE = "https://kubernetes.io/api/_definitions.json#/$defs/io.k8s.api.core.v1."
INT32 = {"minimum": -(2**31), "maximum": 2**31 - 1}

# the CRD's inlined copies of core types, by the path's last names ("[]" is a list's item)
CORE_TYPES = {
    ("template", "spec"): "PodSpec",
    ("headService", "spec"): "ServiceSpec",
    ("serveService", "spec"): "ServiceSpec",
    ("autoscalerOptions", "env", "[]"): "EnvVar",
    ("autoscalerOptions", "envFrom", "[]"): "EnvFromSource",
    ("autoscalerOptions", "resources"): "ResourceRequirements",
    ("autoscalerOptions", "securityContext"): "SecurityContext",
    ("autoscalerOptions", "volumeMounts", "[]"): "VolumeMount",
    ("redisPassword", "valueFrom"): "EnvVarSource",
    ("redisUsername", "valueFrom"): "EnvVarSource",
}
EXCLUDED = {  # by the path's last names, with the reason
    ("status",): "written by the operator, not by users",
    ("rayClusterConfig", "networkPolicy"): "feature gate RayClusterNetworkPolicy (off by default)",
    ("rayClusterConfig", "historyServerOptions"): "feature gate RayClusterHistoryServer (off by default)",
    ("rayClusterConfig", "tlsOptions"): "feature gate RayClusterMTLS (off by default)",
    ("gcsFaultToleranceOptions", "storage"): "the RocksDB backend: feature gate GCSFaultToleranceEmbeddedStorage",
    ("gcsFaultToleranceOptions", "backend"): "the RocksDB backend: feature gate GCSFaultToleranceEmbeddedStorage",
    ("authOptions", "enableK8sTokenAuth"): "refused for a RayService by the operator",
    ("managedBy",): "set by Kueue's MultiKueue only",
}
# utils/validation.go and utils/constant.go, by the full path from the document's root
RAYSERVICE_NAME = {  # ValidateRayServiceMetadata: a DNS-1035 label of at most MaxRayServiceNameLength
    "type": "string", "pattern": "^[a-z]([-a-z0-9]*[a-z0-9])?$", "maxLength": 47,
}
NON_NEGATIVE = {"minimum": 0}
OPERATOR_RULES: dict[tuple[str, ...], dict[str, Any]] = {
    ("spec", "upgradeStrategy", "type"): {"enum": ["NewClusterWithIncrementalUpgrade", "NewCluster", "None"]},
    ("spec", "rayClusterDeletionDelaySeconds"): NON_NEGATIVE,
    ("spec", "rayClusterConfig", "autoscalerOptions", "idleTimeoutSeconds"): NON_NEGATIVE,
    ("spec", "rayClusterConfig", "headGroupSpec", "serviceType"): {
        "enum": ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]},
    ("spec", "rayClusterConfig", "headGroupSpec", "headService", "metadata", "name"): {"not": {}},  # the operator names it
    **{("spec", "rayClusterConfig", "workerGroupSpecs", "[]", count): NON_NEGATIVE
       for count in ("replicas", "minReplicas", "maxReplicas", "idleTimeoutSeconds")},
}


def _ends_with(path: tuple[str, ...], suffixes: dict) -> Any:
    return next((value for suffix, value in suffixes.items() if path[-len(suffix):] == suffix), None)


def translate(node: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """The JSON schema of one CRD node (and everything under it)."""
    if core := _ends_with(path, CORE_TYPES):
        return {"$ref": CORE + core}
    kind = node.get("type")
    if node.get("x-kubernetes-int-or-string"):
        out: dict[str, Any] = {"type": ["integer", "string"]}
    elif kind == "object" and "properties" in node:
        fields = {name: sub for name, sub in node["properties"].items() if not _ends_with((*path, name), EXCLUDED)}
        out = {"type": "object", "additionalProperties": False,
               "properties": {name: translate(sub, (*path, name)) for name, sub in fields.items()}}
        if required := [name for name in node.get("required", []) if "default" not in fields[name]]:
            out["required"] = required
    elif kind == "object" and isinstance(node.get("additionalProperties"), dict):
        out = {"type": "object", "additionalProperties": translate(node["additionalProperties"], (*path, "*"))}
    elif kind == "array":
        out = {"type": "array", "items": translate(node["items"], (*path, "[]"))}
        if keys := node.get("x-kubernetes-list-map-keys"):
            out["x-kubernetes-list-map-keys"] = keys
        if node.get("x-kubernetes-list-type") == "set":
            out["uniqueItems"] = True
    elif kind in ("string", "boolean", "integer"):
        out = {"type": kind, **(INT32 if node.get("format") == "int32" else {})}
    else:
        raise ValueError(f"{'.'.join(path)}: no translation for {node!r:.200}")
    for keyword in ("enum", "pattern", "maxLength", "minimum", "maximum"):
        if keyword in node:
            out[keyword] = node[keyword]
    return {**out, **OPERATOR_RULES.get(path, {})}


def rayservice_schema(crd: dict[str, Any]) -> dict[str, Any]:
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    spec = translate(version["schema"]["openAPIV3Schema"]["properties"]["spec"], ("spec",))
    spec["required"] = [*spec.get("required", []), "serveConfigV2"]  # ours: a RayService without it serves nothing
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": (f"Generated by tests/crd_schema.py from KubeRay {KUBERAY_VERSION}'s RayService CRD "
                     "(ray-operator/config/crd/bases/ray.io_rayservices.yaml) and the operator's "
                     "utils/validation.go; validated by tests/rayservice_schema.py. Do not edit by hand."),
        "type": "object",
        "additionalProperties": False,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "ray.io/v1"},
            "kind": {"const": "RayService"},
            "metadata": {"allOf": [
                {"$ref": "https://kubernetes.io/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
                {"required": ["name"], "properties": {"name": RAYSERVICE_NAME}},
            ]},
            "spec": spec,
        },
    }


def main() -> int:
    """`<crd>`: print the schema; `--check <crd>`: exit 1 when the committed schema is not what the CRD gives."""
    check = sys.argv[1] == "--check"
    with open(sys.argv[-1]) as crd_file:
        generated = rayservice_schema(yaml.safe_load(crd_file))
    if not check:
        print(json.dumps(generated, indent=1))
        return 0
    committed = json.loads((Path(__file__).resolve().parents[1] / "k8s" / "schema" / "rayservice.schema.json").read_text())
    if committed != generated:
        print("k8s/schema/rayservice.schema.json is not what this CRD gives: regenerate it", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
