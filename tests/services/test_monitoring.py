"""The alerts, their PrometheusRule and PodMonitor, and the dashboard: on exported metrics, one
per cluster, and true (promtool: each fires on its scenario, none on an idle or a healthy busy cluster)."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from routing_cli.monitoring import render_files

ROOT = Path(__file__).resolve().parents[1].parent
MONITORING = ROOT / "k8s" / "monitoring"
RULES = yaml.safe_load((MONITORING / "prometheus-rules.yaml").read_text())


def defined_metrics() -> set[str]:
    """Every name Ray exports for the metrics our code defines."""
    exported: set[str] = set()
    for module in ("coordinator/metrics.py", "organism/metrics.py"):
        text = (ROOT / module).read_text()
        for kind, name in re.findall(r'\b(Counter|Gauge|Histogram|counter|histogram)\(\s*"([a-z_]+)"', text):
            kind, base = kind.capitalize(), f"ray_{name}"
            if kind == "Counter":
                exported.add(base if base.endswith("_total") else f"{base}_total")
            elif kind == "Histogram":
                exported |= {f"{base}_bucket", f"{base}_count", f"{base}_sum"}
            else:
                exported.add(base)
    return exported


def test_alerts_are_the_contracts_four_the_stale_block_and_the_lagging_replica_on_exported_metrics():
    rules = RULES["groups"][0]["rules"]
    assert [r["alert"] for r in rules] == [
        "RoutingHighLatency", "RoutingHighErrorRate", "RoutingCacheMissRate", "RoutingEpochRotated", "RoutingBlockReportStale",
        "RoutingReplicaLagging"]
    assert [r.get("for") for r in rules] == ["5m", "2m", "5m", None, None, "1m"]
    assert 'outcome="CurrentBlockStale"' in rules[4]["expr"]
    assert "> 100" in rules[0]["expr"] and "> 0.05" in rules[1]["expr"] and "> 0.5" in rules[2]["expr"]
    exported = defined_metrics()
    for rule in rules:
        names = set(re.findall(r"\bray_(?!io_)[a-z_]+", rule["expr"]))
        assert names and names <= exported, (rule["alert"], names - exported)
        assert rule["labels"]["severity"] and rule["annotations"]["summary"]
        assert "by (ray_io_cluster" in rule["expr"]  # one alert per cluster, not per series


def test_dashboard_queries_exported_metrics_only_of_the_chosen_cluster():
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert "cluster" in {v["name"] for v in dashboard["templating"]["list"]}
    for expr in exprs:  # every selector: the old and the new cluster of an upgrade apart
        assert len(re.findall(r"\bray_[a-z_]+\{", expr)) == expr.count('ray_io_cluster=~"$cluster"') > 0, expr
    names = {n for e in exprs for n in re.findall(r"\bray_(?!io_)[a-z_]+", e)}
    assert names <= defined_metrics(), names - defined_metrics()
    contract = {"ray_route_cache_hit_total", "ray_route_remote_total", "ray_route_remote_latency_ms_bucket",
                "ray_route_remote_fail_total", "ray_bulk_resolve_items_total", "ray_bulk_resolve_failed_items_total",
                "ray_resolve_route_total", "ray_resolve_routes_total", "ray_resolve_routes_items_total",
                "ray_routing_cache_hit_total", "ray_routing_rules_total"}
    assert contract <= names


def test_promtool_proves_every_alert_fires_on_its_scenario_and_is_silent_otherwise():
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: install the OS package prometheus (make test does)"
    run = subprocess.run([promtool, "test", "rules", "alerts.test.yaml"], cwd=MONITORING / "tests",
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "SUCCESS" in run.stdout, run.stdout + run.stderr
    tested = set(re.findall(r"alertname: (\w+)", (MONITORING / "tests" / "alerts.test.yaml").read_text()))
    assert tested == {rule["alert"] for rule in RULES["groups"][0]["rules"]}


def test_the_prometheus_rule_is_the_rules_file_rendered():
    assert (MONITORING / "prometheus-rule.yaml").read_text() == render_files(ROOT), "run `make k8s`"
    rendered = yaml.safe_load((MONITORING / "prometheus-rule.yaml").read_text())
    assert (rendered["kind"], rendered["spec"]["groups"]) == ("PrometheusRule", RULES["groups"])


def test_the_pod_monitor_scrapes_ray_and_haproxy_of_every_pod_with_its_cluster():
    monitor = yaml.safe_load((MONITORING / "pod-monitor.yaml").read_text())
    rayservice = yaml.safe_load((ROOT / "k8s" / "rayservice.yaml").read_text())["spec"]["rayClusterConfig"]
    pods = [rayservice["headGroupSpec"]["template"], *(g["template"] for g in rayservice["workerGroupSpecs"])]
    assert all(monitor["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items() for pod in pods)
    ports = {endpoint["port"] for endpoint in monitor["spec"]["podMetricsEndpoints"]}
    assert ports == {"metrics", "haproxy-metrics"} and all(
        ports <= {p["name"] for p in pod["spec"]["containers"][0]["ports"]} for pod in pods)
    for endpoint in monitor["spec"]["podMetricsEndpoints"]:
        assert {"sourceLabels": ["__meta_kubernetes_pod_label_ray_io_cluster"], "targetLabel": "ray_io_cluster"} in endpoint["relabelings"]
