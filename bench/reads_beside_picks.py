"""`python -m bench.reads_beside_picks [--seconds S]`: an operator's reads beside picks.

With 1,000 miners and 650,000 audit entries (90 days of `PUT /chain`, one
entry per block), picks at c=16 (wrk, a new job each time) run twice for the
same time: alone, then with an operator's reads beside them, each second
`GET /organism/audit`, `GET /organism/audit?action=rules.` (the README's
example) and `GET /organism/miners?limit=1000`, one after the other (a
console refreshing every second). The two alternate for `--rounds` rounds,
each going first in every other round, so that a busy machine, and whatever
builds up over the run, slow both alike. It reports the picks' throughput both
ways and their ratio (of the means, and the median of each round's own
ratio, which a slow round on this shared box moves less), and each read's
p50/p95, in bench/results/reads_beside_picks.md.
"""

import argparse
import statistics
import threading
import time
from pathlib import Path

import httpx

from bench import stack, wrk
from bench.run import load_miners
from contracts.audit import AuditAction, AuditStamp
from organism.state import audit
from organism.state.locate import open_store

RESULTS = Path(__file__).with_name("results") / "reads_beside_picks.md"
AUDIT_ENTRIES = 650_000
READS = {"audit": "/organism/audit", "audit_rules": "/organism/audit?action=rules.",
         "miners_1000": "/organism/miners?limit=1000"}


def seed_audit(cluster: stack.Stack, entries: int = AUDIT_ENTRIES) -> None:
    """A block's chain report every 12 s for as long as the trail keeps them, written to the picker's store."""
    store = open_store("jobs", stack.NAMESPACE, cluster.state_dir)
    feeder, now = AuditStamp("feeder", "facts", "bench"), time.time()
    for start in range(0, entries, 50_000):
        store.write([audit.put(audit.entry(feeder, AuditAction.CHAIN_REPORT, None, now - 12.0 * n, n + 1, n))
                     for n in range(start, min(entries, start + 50_000))])
    store.close()


def read_every_second(cluster: stack.Stack, stop: threading.Event, latencies: dict[str, list[float]]) -> None:
    with httpx.Client(base_url=cluster.base_url, headers={"Authorization": cluster.auth}, timeout=30) as client:
        while not stop.is_set():
            began = time.perf_counter()
            for name, path in READS.items():
                sent = time.perf_counter()
                client.get(path).raise_for_status()
                latencies[name].append((time.perf_counter() - sent) * 1000)
            stop.wait(max(0.0, 1.0 - (time.perf_counter() - began)))


def picks(cluster: stack.Stack, classes: tuple[str, ...], seconds: float) -> float:
    counts = wrk.run(cluster.base_url + "/organism/jobs/route", 16, seconds, cluster.auth, "job", classes=classes)
    assert counts["non2xx"] + counts["socket_errors"] == 0, counts
    return counts["requests"] / (counts["duration_us"] / 1e6)


def report_block(cluster: stack.Stack) -> None:
    httpx.put(cluster.base_url + "/organism/chain", json={"block": 25}, headers={"Authorization": cluster.auth},
              timeout=30).raise_for_status()


def picks_beside_reads(cluster: stack.Stack, classes: tuple[str, ...], seconds: float,
                       latencies: dict[str, list[float]]) -> float:
    stop = threading.Event()
    reader = threading.Thread(target=read_every_second, args=(cluster, stop, latencies))
    reader.start()
    try:
        return picks(cluster, classes, seconds)
    finally:
        stop.set()
        reader.join()


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reads_beside_picks")
    parser.add_argument("--seconds", type=float, default=10.0, help="each round's picks, alone and beside reads")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    cluster = stack.start("haproxy", throughput_optimized=False)
    try:
        classes = load_miners(cluster)
        seed_audit(cluster)
        picks(cluster, classes, 3)  # warm up
        rates: dict[str, list[float]] = {"alone": [], "beside": []}
        latencies: dict[str, list[float]] = {name: [] for name in READS}
        for round_ in range(args.rounds):  # alone first, then beside first: neither is always second
            for variant in ("alone", "beside") if round_ % 2 == 0 else ("beside", "alone"):
                report_block(cluster)  # as the chain feeder would: a block older than 120 s refuses every pick
                rates[variant].append(picks_beside_reads(cluster, classes, args.seconds, latencies)
                                      if variant == "beside" else picks(cluster, classes, args.seconds))
        alone, beside = statistics.mean(rates["alone"]), statistics.mean(rates["beside"])
        paired = [b / a for a, b in zip(rates["alone"], rates["beside"], strict=True)]  # a round's two halves
    finally:
        stack.stop()
    lines = [
        "# Reads beside picks (issue 20)", "",
        f"1,000 miners, {AUDIT_ENTRIES:,} audit entries; picks at c=16, {args.rounds} rounds of"
        f" {args.seconds:g} s alone and {args.seconds:g} s with reads, each first in every other round.", "",
        "| picks | /s (mean) | each round |", "|---|---|---|",
        *(f"| {label} | {statistics.mean(rates[key]):.0f} | {', '.join(f'{r:.0f}' for r in rates[key])} |"
          for key, label in (("alone", "alone"), ("beside", "with reads beside them"))),
        f"| ratio | {beside / alone:.3f} | |",
        f"| ratio within each round (median) | {statistics.median(paired):.3f} | {', '.join(f'{r:.2f}' for r in paired)} |", "", "| read (once a second each) | n | p50 ms | p95 ms |", "|---|---|---|---|",
        *(f"| {name} | {len(values)} | {statistics.median(values):.1f} | {p95(values):.1f} |"
          for name, values in latencies.items()),
    ]
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
