"""Render the alert rules as the Prometheus Operator's `PrometheusRule`.

`k8s/monitoring/prometheus-rules.yaml` is the one source of the alerts (a
plain rules file, what `promtool test rules` checks); `routing k8s` wraps its
groups in a `PrometheusRule` object (`prometheus-rule.yaml`) for clusters run
by the Prometheus Operator, next to the `PodMonitor` that scrapes the Ray
pods. A test checks the rendered file is current.
"""

from pathlib import Path

import yaml

RULES = Path("k8s/monitoring/prometheus-rules.yaml")
RENDERED = Path("k8s/monitoring/prometheus-rule.yaml")
HEADER = "# Rendered from prometheus-rules.yaml by `routing k8s` (make k8s): edit that file, not this one.\n"


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (the PromQL) as literal blocks, as they are written in the source."""


_BlockDumper.add_representer(
    str, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)
)


def render_prometheus_rule(rules_yaml: str) -> str:
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "routing-control-plane", "labels": {"app.kubernetes.io/name": "routing-control-plane"}},
        "spec": {"groups": yaml.safe_load(rules_yaml)["groups"]},
    }
    return HEADER + yaml.dump(rule, Dumper=_BlockDumper, sort_keys=False, width=120)


def render_files(root: Path) -> str:
    return render_prometheus_rule((root / RULES).read_text())
