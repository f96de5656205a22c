"""Render the KubeRay RayService from its template and serve_config.yaml.

serveConfigV2 is serve_config.yaml with the changes a cluster needs: the
Serve ingress listens on all interfaces; the OrganismManager and the
Coordinator scale with their load (`autoscaling_config` instead of a fixed
`num_replicas`; the autoscaler adds workers for them); and the contract's
flags are the Coordinator's `user_config` (rollout phase 2), so a rollout step
is an edit of serveConfigV2 that KubeRay applies live. The state is in
PostgreSQL (the pods' `ROUTING_STATE_DSN`), so no actor is pinned to a node.
`make k8s` writes k8s/rayservice.yaml; a test checks the committed file is current.
"""

import copy
import textwrap
from pathlib import Path
from typing import Any

import yaml

PLACEHOLDER = "    __SERVE_CONFIG_V2__\n"
AUTOSCALING = {  # replicas per deployment; a replica takes 0.1 CPU, a worker has 2
    "OrganismManager": {"min_replicas": 2, "max_replicas": 8, "target_ongoing_requests": 32},
    "Coordinator": {"min_replicas": 1, "max_replicas": 6, "target_ongoing_requests": 64},
}
ROLLOUT_PHASE_2 = {"routing_remote": True, "routing_remote_types": "graph_embed,graph_rag_query,graph_embed_v2,graph_rag_query_v2"}


def cluster_serve_config(config: dict[str, Any]) -> dict[str, Any]:
    cluster = copy.deepcopy(config)
    cluster.setdefault("http_options", {})["host"] = "0.0.0.0"
    for app in cluster["applications"]:
        for deployment in app["deployments"]:
            if deployment["name"] in AUTOSCALING:
                deployment.pop("num_replicas", None)
                deployment["autoscaling_config"] = dict(AUTOSCALING[deployment["name"]])
        if app["name"] == "coordinator":
            for deployment in app["deployments"]:
                deployment.setdefault("user_config", dict(ROLLOUT_PHASE_2))
    return cluster


def render(template: str, serve_config: str) -> str:
    cluster = cluster_serve_config(yaml.safe_load(serve_config))
    block = textwrap.indent(yaml.safe_dump(cluster, sort_keys=False), "    ")
    if PLACEHOLDER not in template:
        raise ValueError("the template has no serveConfigV2 placeholder")
    return template.replace(PLACEHOLDER, block)


def render_files(root: Path) -> str:
    return render(
        (root / "k8s" / "rayservice.template.yaml").read_text(), (root / "serve_config.yaml").read_text()
    )
