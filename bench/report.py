"""Write a benchmark run: JSON, a Markdown table with the targets, PNG charts."""

import json
import platform
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)

from bench.loadgen import Measurement  # noqa: E402

SLA_MS = {"resolve_single_c8": 50.0, "resolve_bulk_10": 100.0, "resolve_bulk_100": 100.0, "miner_pick_c16": 50.0,
          "miner_pick_handle_c16": 50.0}


def targets(by_name: dict[str, Measurement]) -> list[tuple[str, str, bool]]:
    single, bulk, noop = by_name["resolve_single"], by_name["resolve_bulk_10"], by_name["noop_http"]
    single_c8, noop_c8 = by_name["resolve_single_c8"], by_name["noop_http_c8"]
    cache, pick, pick_handle = by_name["cache_lookup_inprocess"], by_name["miner_pick_c16"], by_name["miner_pick_handle_c16"]
    errors = {m.name: m.errors for m in by_name.values() if m.errors}
    return [
        ("cache-hit lookup p95 < 50 us", f"{cache.p95_ms * 1000:.2f} us", cache.p95_ms < 0.05),
        ("single resolve p95 < 50 ms (c=8)", f"{single_c8.p95_ms:.1f} ms (no-op HTTP: {noop_c8.p95_ms:.1f} ms)", single_c8.p95_ms < 50),
        ("single resolve p95 < 50 ms (c=32)", f"{single.p95_ms:.1f} ms (no-op HTTP: {noop.p95_ms:.1f} ms)", single.p95_ms < 50),
        ("single resolve >= 0.8 x no-op HTTP throughput", f"{single.throughput / noop.throughput:.2f} x ({single.throughput:.0f} vs {noop.throughput:.0f}/s)", single.throughput >= 0.8 * noop.throughput),
        ("bulk (10) p95 < 100 ms", f"{bulk.p95_ms:.1f} ms", bulk.p95_ms < 100),
        ("bulk (10) items/s >= 6 x single resolve", f"{bulk.items_per_second / single.throughput:.1f} x ({bulk.items_per_second:.0f} items/s)", bulk.items_per_second >= 6 * single.throughput),
        ("miner pick p95 < 50 ms at c16, 1,000 miners (HTTP)", f"{pick.p95_ms:.1f} ms", pick.p95_ms < 50),
        ("miner pick p95 < 50 ms at c16, 1,000 miners (handle)", f"{pick_handle.p95_ms:.1f} ms", pick_handle.p95_ms < 50),
        ("zero errors in every workload", json.dumps(errors) if errors else "0", not errors),
    ]


def markdown(results: list[Measurement], memory_mb: float, mode: str, optimized: bool, seconds: float) -> str:
    by_name = {m.name: m for m in results}
    noop = by_name["noop_http"]
    lines = [
        f"# Benchmark ({mode}{', RAY_SERVE_THROUGHPUT_OPTIMIZED=1' if optimized else ''})",
        "",
        f"Machine: {platform.machine()}, 2 cores; client and cluster share it. Run took {seconds:.0f} s. "
        f"Ray processes' resident memory at the end: {memory_mb:.0f} MiB.",
        "",
        "| workload | concurrency | throughput (/s) | items/s | p50 ms | p95 ms | p99 ms | errors | vs no-op HTTP |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in results:
        ratio = f"{m.throughput / noop.throughput:.2f} x" if m.name != "cache_lookup_inprocess" else "n/a"
        lines.append(f"| {m.name} | {m.concurrency} | {m.throughput:.1f} | {m.items_per_second:.0f} | {m.p50_ms:.3f} | "
                     f"{m.p95_ms:.3f} | {m.p99_ms:.3f} | {m.errors} | {ratio} |")
    notes = [f"- {m.name}: {m.note}" for m in results if m.note]
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {t} | {v} | {'yes' if ok else 'no'} |" for t, v, ok in targets(by_name)]
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def charts(results: list[Measurement], directory: Path, stem: str) -> None:
    shown = [m for m in results if not m.name.startswith("sweep_")]
    fig, ax = plt.subplots(figsize=(11, 5))
    width = 0.27
    for offset, (label, attr) in enumerate([("p50", "p50_ms"), ("p95", "p95_ms"), ("p99", "p99_ms")]):
        ax.bar([i + (offset - 1) * width for i in range(len(shown))], [getattr(m, attr) for m in shown], width, label=label)
    for name, sla in SLA_MS.items():
        if name in [m.name for m in shown]:
            i = [m.name for m in shown].index(name)
            ax.hlines(sla, i - 0.45, i + 0.45, colors="red", linestyles="dashed")
    ax.set_yscale("log")
    ax.set_ylabel("latency (ms, log)")
    ax.set_xticks(range(len(shown)), [m.name for m in shown], rotation=35, ha="right")
    ax.set_title("Latency percentiles (red dashes: SLA)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(directory / f"{stem}-latency.png", dpi=110)
    plt.close(fig)

    sweep = sorted((m for m in results if m.name.startswith("sweep_")), key=lambda m: m.concurrency)
    noop = next(m for m in results if m.name == "noop_http")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    left.plot([m.concurrency for m in sweep], [m.throughput for m in sweep], marker="o", label="single resolve")
    left.axhline(noop.throughput, color="gray", linestyle=":", label=f"no-op HTTP baseline (c={noop.concurrency})")
    left.axhline(0.8 * noop.throughput, color="red", linestyle="dashed", label="target: 0.8 x baseline")
    left.set_xscale("log", base=2)
    left.set_xlabel("concurrency")
    left.set_ylabel("requests/s")
    left.set_title("Throughput vs concurrency")
    left.legend(fontsize=8)
    right.plot([m.concurrency for m in sweep], [m.p95_ms for m in sweep], marker="o", label="p95")
    right.plot([m.concurrency for m in sweep], [m.p99_ms for m in sweep], marker="o", label="p99")
    right.axhline(50, color="red", linestyle="dashed", label="SLA 50 ms")
    right.set_xscale("log", base=2)
    right.set_xlabel("concurrency")
    right.set_ylabel("ms")
    right.set_title("Single resolve latency vs concurrency")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(directory / f"{stem}-throughput.png", dpi=110)
    plt.close(fig)


def write(directory: Path, results: list[Measurement], memory_mb: float, mode: str, optimized: bool, seconds: float) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    stem = mode + ("-throughput-optimized" if optimized else "")
    document = {
        "mode": mode,
        "throughput_optimized": optimized,
        "ray_resident_memory_mb": memory_mb,
        "seconds": round(seconds, 1),
        "workloads": [m.as_dict() for m in results],
        "targets": [{"target": t, "measured": v, "met": ok} for t, v, ok in targets({m.name: m for m in results})],
    }
    (directory / f"{stem}.json").write_text(json.dumps(document, indent=2) + "\n")
    (directory / f"{stem}.md").write_text(markdown(results, memory_mb, mode, optimized, seconds))
    charts(results, directory, stem)
