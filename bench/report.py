"""Write a benchmark run: JSON, a Markdown table with the targets met or not, PNG charts."""

import json
import platform
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)

from bench.loadgen import Measurement  # noqa: E402

IN_PROCESS = ("cache_lookup_inprocess", "pick_decision_", "rotation_", "rule_change_")
MEMORY_TARGET_MB = 2.5 * 1024


def remote_routing_targets(by: dict[str, Measurement], facts: dict[str, float]) -> list[tuple[str, str, bool]]:
    """The remote-routing issue's targets."""
    shares = {name: m.static_share for name, m in by.items() if m.static_share is not None}
    worst = max(shares, key=shares.get) if shares else None
    rotation, rule = by.get("rotation_reaches_coordinator"), by.get("rule_change_reaches_coordinator")
    inactive = facts.get("longest_no_active_instance_after_rotation_s", float("nan"))
    back = facts.get("remote_again_after_organism_outage_s", float("nan"))
    return [
        (">= 99 % of coordinator routes from cache or remote at c=32/64, both ingresses",
         f"worst: {100 * (1 - shares[worst]):.2f} % ({worst})" if worst else "not measured",
         bool(worst) and shares[worst] <= 0.01),
        ("a rotation reaches the coordinator within 100 ms (p99)", f"{rotation.p99_ms:.0f} ms" if rotation else "n/a",
         bool(rotation) and rotation.p99_ms <= 100),
        ("a rule change reaches the coordinator within 100 ms (p99)", f"{rule.p99_ms:.0f} ms" if rule else "n/a",
         bool(rule) and rule.p99_ms <= 100),
        ("no live organ reported no_active_instance for more than 1 s after a rotation", f"{inactive * 1000:.0f} ms",
         inactive <= 1.0),
        ("remote again within 5 s of the organism being healthy", f"{back:.2f} s", back <= 5.0),
    ]


def targets(by: dict[str, Measurement], memory_mb: float) -> list[tuple[str, str, bool]]:
    """The performance issue's targets, each with what was measured and whether it was met."""
    noop_python = by["noop_python_c32"]
    resolve, resolve_c1, bulk = by["resolve_c32"], by["resolve_c1"], by["bulk_10_c16"]
    decisions = [m for name, m in by.items() if name.startswith("pick_decision_")]
    worst_decision = max(m.p95_ms for m in decisions)
    errors = {m.name: m.errors for m in by.values() if m.errors}
    return [
        ("resolve >= 1,000/s at c=32 with p95 <= 50 ms",
         f"{resolve.throughput:.0f}/s, p95 {resolve.p95_ms:.1f} ms", resolve.throughput >= 1000 and resolve.p95_ms <= 50),
        ("resolve p50 <= 1.5 ms at c=1", f"{resolve_c1.p50_ms:.2f} ms", resolve_c1.p50_ms <= 1.5),
        ("resolve >= 3 x the Python-proxy no-op (c=32, same run)",
         f"{resolve.throughput / noop_python.throughput:.2f} x ({noop_python.throughput:.0f}/s)",
         resolve.throughput >= 3 * noop_python.throughput),
        ("bulk of 10 >= 10,000 items/s with p95 <= 100 ms",
         f"{bulk.items_per_second:.0f} items/s, p95 {bulk.p95_ms:.1f} ms", bulk.items_per_second >= 10_000 and bulk.p95_ms <= 100),
        ("coordinator route (warm) >= 1,000/s at c=32", f"{by['route_warm_c32'].throughput:.0f}/s",
         by["route_warm_c32"].throughput >= 1000),
        ("miner pick over HTTP >= 500/s at c=16 with p95 <= 50 ms (1,000 miners)",
         f"{by['pick_c16'].throughput:.0f}/s, p95 {by['pick_c16'].p95_ms:.1f} ms",
         by["pick_c16"].throughput >= 500 and by["pick_c16"].p95_ms <= 50),
        ("picker decision p95 < 1 ms in process (worst shape)", f"{worst_decision * 1000:.0f} us", worst_decision < 1),
        ("cache-hit lookup p95 < 50 us", f"{by['cache_lookup_inprocess'].p95_ms * 1000:.2f} us",
         by["cache_lookup_inprocess"].p95_ms < 0.05),
        ("stack resident memory <= 2.5 GiB after the run", f"{memory_mb:.0f} MiB", memory_mb <= MEMORY_TARGET_MB),
        ("zero errors in every workload", json.dumps(errors) if errors else "0", not errors),
    ]


def _ratio(m: Measurement, baseline: Measurement) -> str:
    return "n/a" if m.name.startswith(IN_PROCESS) else f"{m.throughput / baseline.throughput:.2f} x"


def markdown(results: list[Measurement], facts: dict[str, float], memory_mb: float, mode: str, optimized: bool,
             seconds: float) -> str:
    by = {m.name: m for m in results}
    python, haproxy = by["noop_python_c32"], by["noop_haproxy_c32"]
    lines = [
        f"# Benchmark ({mode}{', RAY_SERVE_THROUGHPUT_OPTIMIZED=1' if optimized else ''})",
        "",
        f"Machine: {platform.machine()}, 2 cores; wrk and the cluster share it. Run took {seconds:.0f} s. "
        f"Resident memory of the stack's Ray processes at the end: {memory_mb:.0f} MiB. Ratios are to the "
        f"no-op deployment at c=32 of the same run, behind the Python proxy ({python.throughput:.0f}/s) "
        f"and behind HAProxy ({haproxy.throughput:.0f}/s).",
        "",
        "| workload | c | /s | items/s | p50 ms | p95 ms | p99 ms | errors | static | vs no-op (Python) | vs no-op (HAProxy) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in results:
        static = f"{100 * m.static_share:.2f} %" if m.static_share is not None else ""
        lines.append(f"| {m.name} | {m.concurrency} | {m.throughput:.1f} | {m.items_per_second:.0f} | {m.p50_ms:.3f} | "
                     f"{m.p95_ms:.3f} | {m.p99_ms:.3f} | {m.errors} | {static} | {_ratio(m, python)} | {_ratio(m, haproxy)} |")
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {t} | {v} | {'yes' if ok else 'no'} |" for t, v, ok in targets(by, memory_mb)]
    lines += [f"| {t} | {v} | {'yes' if ok else 'no'} |" for t, v, ok in remote_routing_targets(by, facts)]
    notes = [f"- {m.name}: {m.note}" for m in results if m.note]
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def charts(results: list[Measurement], directory: Path, stem: str) -> None:
    shown = [m for m in results if not m.name.startswith(IN_PROCESS)]
    names = [m.name for m in shown]
    fig, ax = plt.subplots(figsize=(12, 5))
    ax.bar(names, [m.items_per_second for m in shown], color=["gray" if n.startswith("noop") else "tab:blue" for n in names])
    ax.set_yscale("log")
    ax.set_ylabel("requests (items) per second, log")
    ax.set_xticks(range(len(names)), names, rotation=40, ha="right")
    ax.set_title("Throughput (gray: the no-op deployment)")
    fig.tight_layout()
    fig.savefig(directory / f"{stem}-throughput.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(12, 5))
    width = 0.27
    for offset, (label, attr) in enumerate([("p50", "p50_ms"), ("p95", "p95_ms"), ("p99", "p99_ms")]):
        ax.bar([i + (offset - 1) * width for i in range(len(shown))], [getattr(m, attr) for m in shown], width, label=label)
    ax.axhline(50, color="red", linestyle="dashed", label="50 ms (single resolve SLA)")
    ax.set_yscale("log")
    ax.set_ylabel("latency (ms, log)")
    ax.set_xticks(range(len(names)), names, rotation=40, ha="right")
    ax.set_title("Latency percentiles")
    ax.legend()
    fig.tight_layout()
    fig.savefig(directory / f"{stem}-latency.png", dpi=110)
    plt.close(fig)


def write(directory: Path, results: list[Measurement], facts: dict[str, float], memory_mb: float, mode: str,
          optimized: bool, seconds: float) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    stem = mode + ("-throughput-optimized" if optimized else "")
    document = {
        "mode": mode,
        "throughput_optimized": optimized,
        "ray_resident_memory_mb": memory_mb,
        "seconds": round(seconds, 1),
        "workloads": [m.as_dict() for m in results],
        "facts": facts,
        "targets": [
            {"target": t, "measured": v, "met": ok}
            for t, v, ok in [*targets({m.name: m for m in results}, memory_mb),
                             *remote_routing_targets({m.name: m for m in results}, facts)]
        ],
    }
    (directory / f"{stem}.json").write_text(json.dumps(document, indent=2) + "\n")
    (directory / f"{stem}.md").write_text(markdown(results, facts, memory_mb, mode, optimized, seconds))
    charts(results, directory, stem)
