"""`python -m bench.curves [--dsn POSTGRES_DSN]`: how cost grows, measured in process and plotted.

- a pick's decision (policy over the candidate index, then the booking),
  p50 and p95 of 2,000, against miners (1,000 / 10,000 / 100,000, one executor
  class) and against live bookings (0 / 1,000 / 10,000 / 100,000 on 1,000
  miners);
- a resolve (rule table, instance cache, resolution) against rules (100 /
  10,000 / 100,000) and against organs with an active instance (10 / 1,000 /
  10,000), and the rule table's rebuild after a change;
- a whole pick committed to SQLite (the picker actor's class, in process)
  against the live holds on its miner: 1,000 miners of one class ranked
  alike, so every booking holds the same top miner's allowance (the worst
  case: a real miner holds at most its slots), picks per CPU second of each
  block of 1,000 up to 10,000;
- the miner book's memory (tracemalloc) against bookings; the audit trail
  is not held in memory (it is read from the store by key);
- with `--dsn`, the PostgreSQL slot claim's time against concurrent pickers
  (1 / 2 / 4 / 8 threads, each its own connection, claiming slots of one
  miner: the lock they share).
Written to bench/results/curves.md and curves-*.png. The figures are medians
of repeated runs, so a busy machine moves them less than a load test.
"""

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
import tracemalloc
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend first

from bench.inprocess import one_pick, stocked_picker  # noqa: E402
from contracts.dynamic_config import DynamicConfig  # noqa: E402
from contracts.jobs import Allowance, JobSpec, Manifest, Miner  # noqa: E402
from contracts.registry import ActiveInstance  # noqa: E402
from contracts.routing_table import Rule, RuleTable  # noqa: E402
from organism.jobs.book import MinerBook  # noqa: E402
from organism.jobs.candidate_index import CandidateIndex  # noqa: E402
from organism.jobs.lifecycle import book_job  # noqa: E402
from organism.jobs.policy import pick  # noqa: E402
from organism.jobs.records import Selection  # noqa: E402
from organism.state.sql import SqlStore  # noqa: E402
from organism.tasks.instance_cache import ActiveInstanceCache  # noqa: E402
from organism.tasks.resolution import RouteQuery, resolve  # noqa: E402

RESULTS = Path(__file__).with_name("results")
BLOCK, NETUID, CLASS = 25, 12, "spin_up-4min.gpu-24gb"


def book_of(miners: int, now: float) -> MinerBook:
    book = MinerBook(config=DynamicConfig())
    for i in range(miners):
        hotkey = f"m{i:06d}"
        book.upsert_miner(Miner(hotkey, "10.0.0.1", 8000, 4, 10**18))
        book.add_manifests([Manifest(hotkey, CLASS, 10**6, 10**6, now - 60, 0)])
        book.upsert_allowances([Allowance(hotkey, -14, 708, 1e12, 1e12 - i)])
    return book


def route(book: MinerBook, index: CandidateIndex, n: int, now: float) -> None:
    job = JobSpec(f"job-{n}", CLASS, 1, 1, 1, 0, False)
    outcome = pick(book, job, BLOCK, NETUID, now, index)
    if isinstance(outcome, Selection):
        book_job(book, job, outcome, now, BLOCK)


def timed_picks(book: MinerBook, index: CandidateIndex, picks: int, first: int, now: float) -> tuple[float, float]:
    """(median, p95) µs of a pick and its booking."""
    times = []
    for n in range(first, first + picks):
        began = time.perf_counter()
        route(book, index, n, now)
        times.append(time.perf_counter() - began)
    times.sort()
    return times[len(times) // 2] * 1e6, times[int(len(times) * 0.95)] * 1e6


def picks_against_miners(counts: tuple[int, ...]) -> list[tuple[int, float, float]]:
    now, rows = time.time(), []
    for miners in counts:
        book, index = book_of(miners, now), CandidateIndex()
        route(book, index, -1, now)  # the index is built by the first pick
        rows.append((miners, *timed_picks(book, index, 2000, 0, now)))
    return rows


def picks_against_bookings(counts: tuple[int, ...]) -> list[tuple[int, float, float]]:
    now, rows = time.time(), []
    book, index, booked = book_of(1000, now), CandidateIndex(), 0
    for bookings in counts:
        for n in range(booked, bookings):
            route(book, index, -1 - n, now)
        booked = bookings
        rows.append((bookings, *timed_picks(book, index, 2000, 10**7 + bookings, now)))
    return rows


def committed_picks_against_holds(blocks: int = 10, block: int = 1000) -> list[tuple[int, float]]:
    """(live holds on the chosen miner before the block, picks per CPU second over the block)."""
    rows = []
    with tempfile.TemporaryDirectory() as state_dir:
        picker, names = stocked_picker(state_dir, 1000, 1)
        for first in range(0, blocks * block, block):
            started = time.process_time()
            for n in range(first, first + block):
                one_pick(picker, names, n)
            rows.append((first, block / (time.process_time() - started)))
    return rows


def memory_against_bookings(counts: tuple[int, ...]) -> list[tuple[int, float]]:
    now, rows = time.time(), []
    for bookings in counts:
        gc.collect()
        tracemalloc.start()
        book, index = book_of(1000, now), CandidateIndex()
        for n in range(bookings):
            route(book, index, n, now)
        rows.append((bookings, tracemalloc.get_traced_memory()[0] / 2**20))
        tracemalloc.stop()
        del book, index
    return rows


def rules_of(count: int) -> list[Rule]:
    return [Rule(f"type_{i % 1000}", f"domain_{i // 1000}", f"organ_{i % 10}") for i in range(count)]


def resolves_against(rules: int, organs: int, calls: int = 5000) -> tuple[float, float]:
    """(median µs of a resolve, ms to build the rule table) with that many rules and active organs."""
    async def lookup_many(logical_ids: list[str], epoch: str) -> dict[str, ActiveInstance | None]:
        return {logical_id: ActiveInstance(f"{logical_id}-i", f"{logical_id}-actor") for logical_id in logical_ids}

    every_rule = [*rules_of(rules), *(Rule(f"kind_{i}", None, f"organ_{i}") for i in range(organs))]
    gc.collect()
    began = time.perf_counter()
    table = RuleTable(every_rule)
    build_ms = (time.perf_counter() - began) * 1000
    cache = ActiveInstanceCache(lookup_many, ttl_s=3600, maxsize=max(10_000, organs))
    configured = {f"organ_{i}" for i in range(max(organs, 10))}

    async def run() -> float:
        async def lookups(logical_ids: list[str]):
            return await cache.get_many(logical_ids, "e1")

        queries = [RouteQuery((f"kind_{i % organs}", None)) for i in range(organs)] + [
            RouteQuery((f"type_{i % 1000}", f"domain_{(i * 7) % max(1, rules // 1000)}")) for i in range(1000)]
        for query in queries:  # warm: every organ's instance cached, as in a running replica
            await resolve(query, table, lookups, configured)
        times = []
        for n in range(calls):
            began = time.perf_counter()
            await resolve(queries[n % len(queries)], table, lookups, configured)
            times.append(time.perf_counter() - began)
        return statistics.median(times) * 1e6

    return asyncio.run(run()), build_ms


def claims_against_pickers(dsn: str, counts: tuple[int, ...], claims: int = 300) -> list[tuple[int, float, float]]:
    """(pickers, median ms of a claim, claims per second for all of them) on one miner's slots."""
    rows = []
    for pickers in counts:
        scope = f"curves-{uuid.uuid4().hex[:8]}"  # one database, one namespace: the pickers of an upgrade
        stores = [SqlStore(dsn, scope) for _ in range(pickers)]
        began = time.perf_counter()
        with ThreadPoolExecutor(pickers) as pool:
            times = [t for worker in pool.map(_claim_times, stores, [claims] * pickers) for t in worker]
        rows.append((pickers, statistics.median(times) * 1000, len(times) / (time.perf_counter() - began)))
    return rows


def _claim_times(store: SqlStore, claims: int) -> list[float]:
    times = []
    for _ in range(claims):
        began = time.perf_counter()
        with store.transaction() as tx:
            tx.claim_slot("m0", CLASS, uuid.uuid4().hex, 10**6, time.time() + 3600, time.time())
        times.append(time.perf_counter() - began)
    return times


def plot(name: str, title: str, xlabel: str, series: dict[str, list[tuple[float, float]]], ylabel: str) -> str:
    figure, axes = plt.subplots(figsize=(6, 3.6))
    for label, points in series.items():
        axes.plot([x for x, _ in points], [y for _, y in points], marker="o", label=label)
    axes.set_xscale("log")
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
    axes.grid(True, alpha=0.3)
    if len(series) > 1:
        axes.legend()
    figure.tight_layout()
    path = RESULTS / f"curves-{name}.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path.name


def table(header: str, rows: list[tuple]) -> list[str]:
    columns = header.count("|") - 1
    return [header, "|" + "---|" * columns, *("| " + " | ".join(f"{v:,.1f}" if isinstance(v, float) else f"{v:,}"
                                                                  for v in row) + " |" for row in rows), ""]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.curves")
    parser.add_argument("--dsn", help="a PostgreSQL DSN for the claim curve (a throwaway database)")
    args = parser.parse_args()
    by_miners = picks_against_miners((1000, 10_000, 100_000))
    by_bookings = picks_against_bookings((0, 1000, 10_000, 100_000))
    memory = memory_against_bookings((0, 10_000, 100_000))
    committed = committed_picks_against_holds()
    by_rules = [(n, *resolves_against(n, 10)) for n in (100, 10_000, 100_000)]
    by_organs = [(n, *resolves_against(100, n)) for n in (10, 1000, 10_000)]
    picks_png = plot("picks", "A pick (decision and booking)", "miners or live bookings", {
        "against miners": [(m, us) for m, us, _ in by_miners],
        "against live bookings (1,000 miners)": [(max(b, 1), us) for b, us, _ in by_bookings]}, "µs")
    memory_png = plot("memory", "Miner book memory", "live bookings", {"MiB": [(max(b, 1), mb) for b, mb in memory]},
                      "MiB")
    resolves_png = plot("resolves", "A resolve (rule table, instance cache)", "rules or active organs", {
        "against rules (10 organs)": [(n, us) for n, us, _ in by_rules],
        "against active organs (100 rules)": [(n, us) for n, us, _ in by_organs]}, "µs")
    lines = ["# How cost grows (issue 22)", "", "In process, medians; `python -m bench.curves`.", "",
             "## Picks", "", f"![picks]({picks_png})", "",
             *table("| miners | pick p50 µs | pick p95 µs |", by_miners),
             *table("| live bookings (1,000 miners) | pick p50 µs | pick p95 µs |", by_bookings),
             "A whole pick committed to SQLite against the live holds on its miner (one class, every booking on the"
             " top miner):", "",
             *table("| live holds on the miner | committed picks per CPU second |", committed),
             f"![memory]({memory_png})", "", *table("| live bookings | book MiB (tracemalloc) |", memory),
             "## Resolves", "", f"![resolves]({resolves_png})", "",
             *table("| rules | resolve µs (median) | table rebuild ms |", by_rules),
             *table("| active organs | resolve µs (median) | table rebuild ms |", by_organs)]
    if args.dsn:
        claims = claims_against_pickers(args.dsn, (1, 2, 4, 8))
        claims_png = plot("claims", "Slot claim on one miner", "concurrent pickers",
                          {"median ms": [(p, ms) for p, ms, _ in claims]}, "ms")
        lines += ["## PostgreSQL slot claims", "", f"![claims]({claims_png})", "",
                  *table("| pickers | claim ms (median) | claims/s, all pickers |", claims)]
    (RESULTS / "curves.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
