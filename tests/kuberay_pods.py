"""Pure. What the KubeRay operator makes of a RayService's groups: each pod's labels, `ray start` flags and environment.

Read from KubeRay v1.7.0 (`ray-operator/controllers/ray/common/pod.go`, `common/service.go`):
- labels: KubeRay's own, overridden by the template's except cluster, node type and group (labelPod);
- `ray start` flags: the group's rayStartParams completed the way the operator completes them
  (setMissingRayStartParams, generateRayStartCommand: `block`, the dashboard agent and metrics
  ports, the head's `dashboard-host`, `num-cpus` and `memory` from the container's limits, the
  worker's head address, `no-monitor` when the autoscaler runs beside the head, and the Redis
  password of GCS fault tolerance), flags in sorted order, `true` as a bare switch;
- environment: the container's, then what the operator adds to a RayService's pods and Ray
  reads (setContainerEnvVars' timeouts and addresses, configureGCSFaultTolerance, the autoscaler
  v2 switch; not the informational ones: pod name and namespace, the generated command, usage
  tags). Secrets are resolved the way the kubelet resolves them, `$(VAR)` included.
A container field the translation does not model fails loudly, so no part of a manifest is
silently left out of the operator-path test (tests/integration/test_operator_path.py).
"""

import math
import re
from dataclasses import dataclass
from typing import Any

HEAD_GROUP = "headgroup"
DEFAULT_PORTS = {"port": 6379, "dashboard-port": 8265, "ray-client-server-port": 10001}  # Ray's, on the head
SERVE_PORT_DEFAULT = 8000
MODELLED_CONTAINER_FIELDS = {"name", "image", "resources", "ports", "env", "lifecycle"}
MODELLED_GROUP_FIELDS = {"groupName", "replicas", "minReplicas", "maxReplicas", "rayStartParams", "template"}
_UNITS = {"m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


class PodFailed(Exception):
    """What would keep a pod from starting (the kubelet's CreateContainerConfigError and the like)."""


@dataclass(frozen=True)
class Group:
    name: str
    node_type: str  # "head" or "worker"
    spec: dict[str, Any]

    @property
    def container(self) -> dict[str, Any]:
        return self.spec["template"]["spec"]["containers"][0]  # KubeRay's Ray container is the first

    def container_port(self, name: str, default: int | None = None) -> int | None:
        return next((p["containerPort"] for p in self.container.get("ports", []) if p.get("name") == name), default)


def groups(rayservice: dict[str, Any]) -> list[Group]:
    cluster = rayservice["spec"]["rayClusterConfig"]
    found = [Group(HEAD_GROUP, "head", cluster["headGroupSpec"])]
    found += [Group(g["groupName"], "worker", g) for g in cluster.get("workerGroupSpecs", [])]
    for group in found:
        if extra := set(group.container) - MODELLED_CONTAINER_FIELDS:
            raise NotImplementedError(f"{group.name}: container fields not modelled here: {sorted(extra)}")
        if group.node_type == "worker" and (extra := set(group.spec) - MODELLED_GROUP_FIELDS):
            raise NotImplementedError(f"{group.name}: group fields not modelled here: {sorted(extra)}")
    return found


def pod_labels(cluster_name: str, group: Group) -> dict[str, str]:
    labels = {
        "ray.io/is-ray-node": "yes", "ray.io/identifier": f"{cluster_name}-{group.node_type}",
        "app.kubernetes.io/name": "kuberay", "app.kubernetes.io/created-by": "kuberay-operator",
    }
    labels.update(group.spec["template"].get("metadata", {}).get("labels", {}))
    labels.update({"ray.io/cluster": cluster_name, "ray.io/node-type": group.node_type, "ray.io/group": group.name})
    return labels


def serve_service_port(rayservice: dict[str, Any]) -> int:
    """The port the serve Service targets on every serving pod: the head container's port named `serve`."""
    port = groups(rayservice)[0].container_port("serve")
    if port is None:
        raise PodFailed("the head container has no port named serve: KubeRay creates no serve Service")
    return port


def _quantity(value: str | int) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value)).groups()
    return float(number) * _UNITS[unit]


def start_params(rayservice: dict[str, Any], group: Group, head_address: str) -> dict[str, str]:
    cluster = rayservice["spec"]["rayClusterConfig"]
    params = dict(group.spec.get("rayStartParams", {}))
    if group.node_type == "worker":
        params.setdefault("address", head_address)
    else:
        params.setdefault("dashboard-host", "0.0.0.0")
        if cluster.get("enableInTreeAutoscaling"):
            params["no-monitor"] = "true"  # the monitor runs in the autoscaler's container
        if "redisPassword" in cluster.get("gcsFaultToleranceOptions", {}):
            params["redis-password"] = "$REDIS_PASSWORD"
    params.setdefault("metrics-export-port", "8080")
    params["block"] = "true"
    params.setdefault("dashboard-agent-listen-port", "52365")
    limits = group.container.get("resources", {}).get("limits", {})
    requests = group.container.get("resources", {}).get("requests", {})
    if cpu := limits.get("cpu") or requests.get("cpu"):
        params.setdefault("num-cpus", str(math.ceil(_quantity(cpu))))
    if memory := limits.get("memory"):
        params.setdefault("memory", str(math.ceil(_quantity(memory))))
    return params


def ray_start_flags(group: Group, params: dict[str, str]) -> list[str]:
    flags = ["--head"] if group.node_type == "head" else []
    for key in sorted(params):
        value = params[key]
        if value.lower() in ("true", "false") and key not in ("log-color", "include-dashboard", "include-log-monitor"):
            flags += [f"--{key}"] if value.lower() == "true" else []
        else:
            flags.append(f"--{key}={value}")
    return flags


def operator_env(rayservice: dict[str, Any], group: Group, cluster_name: str, head_address: str) -> list[dict]:
    """What the operator appends to the container's env of a RayService pod (before the kubelet resolves it)."""
    cluster = rayservice["spec"]["rayClusterConfig"]
    env = [
        {"name": "RAY_CLUSTER_NAME", "value": cluster_name},
        {"name": "RAY_NODE_TYPE_NAME", "value": group.name},
        {"name": "RAY_timeout_ms_task_wait_for_death_info", "value": "0"},
        {"name": "RAY_gcs_server_request_timeout_seconds", "value": "5"},
        {"name": "RAY_SERVE_KV_TIMEOUT_S", "value": "5"},
        {"name": "RAY_ADDRESS", "value": head_address},
    ]
    gcs_ft = cluster.get("gcsFaultToleranceOptions")
    if gcs_ft and group.node_type == "worker":
        env.append({"name": "RAY_gcs_rpc_server_reconnect_timeout_s", "value": "600"})
    if gcs_ft and group.node_type == "head":
        env.append({"name": "RAY_external_storage_namespace", "value": gcs_ft.get("externalStorageNamespace", cluster_name)})
        env.append({"name": "RAY_REDIS_ADDRESS", "value": gcs_ft["redisAddress"]})
        if "redisPassword" in gcs_ft:
            env.append({"name": "REDIS_PASSWORD", **gcs_ft["redisPassword"]})
    if group.node_type == "head" and cluster.get("enableInTreeAutoscaling"):
        version = cluster.get("autoscalerOptions", {}).get("version", "v1")
        env.append({"name": "RAY_enable_autoscaler_v2", "value": "true" if version == "v2" else "false"})
    defined = {e["name"] for e in group.container.get("env", [])}
    return [e for e in env if e["name"] not in defined]


def expand(text: str, env: dict[str, str]) -> str:
    """The kubelet's `$(VAR)` references in env values, commands and args (an unknown one stays as written)."""
    return re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), text)


def resolve_env(entries: list[dict], secrets: dict[str, dict[str, str]]) -> dict[str, str]:
    """The values the container sees: secretKeyRef from `secrets`, `$(VAR)` of earlier entries expanded."""
    resolved: dict[str, str] = {}
    for entry in entries:
        if "valueFrom" in entry:
            source = entry["valueFrom"]
            if set(source) != {"secretKeyRef"}:
                raise NotImplementedError(f"{entry['name']}: only secretKeyRef is modelled, not {sorted(source)}")
            ref = source["secretKeyRef"]
            if ref["key"] not in secrets.get(ref["name"], {}):
                raise PodFailed(f"{entry['name']}: secret {ref['name']!r} has no key {ref['key']!r}")
            resolved[entry["name"]] = secrets[ref["name"]][ref["key"]]
        else:
            resolved[entry["name"]] = expand(entry.get("value", ""), resolved)
    return resolved
