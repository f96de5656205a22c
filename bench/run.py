"""`python -m bench.run [--quick] [--throughput-optimized]`: measure, then write bench/results/.

Workloads: no-op Serve baselines (HTTP and DeploymentHandle), single resolve,
bulk resolve (10 and 100 items), coordinator route with a warm cache (HTTP) and
the in-process cache lookup alone, coordinator route with a cold cache, miner
picks with 1,000 miners over 5 executor classes at concurrency 1 and 16, and a
concurrency sweep of single resolve.
"""

import argparse
import asyncio
import random
import time
import uuid
from pathlib import Path

import aiohttp
from ray import serve

from bench import report, stack
from bench.loadgen import Measurement, http_call, run_closed_loop, summarize
from coordinator.route_cache import RouteCache
from organism.jobs.dynamic_config import EXECUTOR_CLASS_SPIN_UP_S
from organism.jobs.models import JobRouteRequest

OK = frozenset({200})
RESULTS = Path(__file__).with_name("results")


class Bench:
    def __init__(self, cluster: stack.Stack, seconds: float, warmup_s: float) -> None:
        self.cluster = cluster
        self.seconds = seconds
        self.warmup_s = warmup_s
        self.results: list[Measurement] = []

    async def http(self, name: str, path: str, body, concurrency: int, items: int = 1, ok=OK, note: str = "") -> Measurement:
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector, headers=self.cluster.headers) as session:
            call = http_call(session, self.cluster.base_url + path, body, ok)
            latencies, errors, seconds = await run_closed_loop(call, concurrency, self.seconds, self.warmup_s)
        return self.keep(summarize(name, concurrency, latencies, errors, seconds, items, note))

    async def handle(self, name: str, call, concurrency: int, note: str = "") -> Measurement:
        async def ok(n: int) -> bool:
            try:
                return bool(await call(n))
            except Exception:
                return False

        latencies, errors, seconds = await run_closed_loop(ok, concurrency, self.seconds, self.warmup_s)
        return self.keep(summarize(name, concurrency, latencies, errors, seconds, note=note))

    def keep(self, measurement: Measurement) -> Measurement:
        self.results.append(measurement)
        print(f"  {measurement.name:<28} c={measurement.concurrency:<3} {measurement.throughput:>8.1f}/s "
              f"p50 {measurement.p50_ms:>8.2f} p95 {measurement.p95_ms:>8.2f} p99 {measurement.p99_ms:>8.2f} ms "
              f"errors {measurement.errors}", flush=True)
        return measurement


def cache_lookup_alone(calls: int = 200_000) -> Measurement:
    """The coordinator's cache hit path in process, without HTTP or Ray."""
    cache = RouteCache(3600.0, 0.5)
    keys = [(f"type_{i}", None) for i in range(100)]
    for key in keys:
        cache.put(key, "organ", "task", "i", "e")
    latencies = []
    started = time.perf_counter()
    for n in range(calls):
        key = keys[n % 100]
        t0 = time.perf_counter_ns()
        cache.get(key)
        latencies.append((time.perf_counter_ns() - t0) / 1e9)
    return summarize("cache_lookup_inprocess", 1, latencies, 0, time.perf_counter() - started)


async def load_miners(cluster: stack.Stack, miners: int = 1000) -> list[str]:
    classes = sorted(EXECUTOR_CLASS_SPIN_UP_S)
    hotkeys = [f"bench-miner-{i:04d}" for i in range(miners)]
    async with aiohttp.ClientSession(headers=cluster.headers) as session:
        base = cluster.base_url + "/organism"
        semaphore = asyncio.Semaphore(16)

        async def register(hotkey: str) -> None:
            async with semaphore, session.put(f"{base}/miners/{hotkey}", json={"address": "10.0.0.1", "port": 8000, "collateral_wei": str(10**18)}) as r:
                assert r.status == 200, await r.text()

        await asyncio.gather(*(register(h) for h in hotkeys))
        manifests = [{"hotkey": h, "executor_class": classes[i % len(classes)], "online_executor_count": 1_000_000,
                      "executor_count": 1_000_000} for i, h in enumerate(hotkeys)]
        allowances = [{"hotkey": h, "initial": 1e9, "remaining": random.uniform(1e8, 1e9)} for h in hotkeys]
        for method, path, body in [("POST", "/manifests", {"manifests": manifests}),
                                   ("PUT", "/allowances", {"cycle": {"start": -14, "stop": 708}, "allowances": allowances}),
                                   ("PUT", "/chain", {"block": 25})]:
            async with session.request(method, base + path, json=body) as r:
                assert r.status == 200, await r.text()
    return classes


async def measure(bench: Bench, sweep: list[int]) -> None:
    single = {"task": {"type": "graph_embed", "domain": "facts"}}
    noop = bench.cluster.noop_handle
    print("baseline", flush=True)
    await bench.http("noop_http_c8", "/noop/", lambda n: {}, 8)
    await bench.http("noop_http", "/noop/", lambda n: {}, 32)
    await bench.handle("noop_handle", lambda n: noop.noop_handle.remote(), 32)
    print("organism", flush=True)
    await bench.http("resolve_single_c8", "/organism/resolve-route", lambda n: single, 8)
    await bench.http("resolve_single", "/organism/resolve-route", lambda n: single, 32)
    bulk10 = {"tasks": [{"key": f"k{i}", "type": "graph_embed" if i % 2 else "fact_search", "domain": f"d{i}"} for i in range(10)]}
    bulk100 = {"tasks": [{"key": f"k{i}", "type": "graph_embed" if i % 2 else "fact_search", "domain": f"d{i % 20}"} for i in range(100)]}
    await bench.http("resolve_bulk_10", "/organism/resolve-routes", lambda n: bulk10, 16, items=10)
    await bench.http("resolve_bulk_100", "/organism/resolve-routes", lambda n: bulk100, 8, items=100)
    print("coordinator", flush=True)
    await bench.http("route_warm_http", "/pipeline/route", lambda n: {"type": "graph_embed", "domain": "facts"}, 32)
    bench.keep(cache_lookup_alone())
    await bench.http("route_cold_http", "/pipeline/route", lambda n: {"type": "graph_embed", "domain": f"cold-{n}-{uuid.uuid4().hex[:6]}"}, 32,
                     note="every request misses the cache; timeouts fall back to static (still 200)")
    print("miner picks (1,000 miners, 5 classes)", flush=True)
    classes = await load_miners(bench.cluster)

    def job(n: int) -> dict:
        return {"uuid": str(uuid.uuid4()), "executor_class": classes[n % len(classes)], "download_time_limit": 1,
                "execution_time_limit": 1, "upload_time_limit": 1}

    await bench.http("miner_pick_c1", "/organism/jobs/route", job, 1)
    await bench.http("miner_pick_c16", "/organism/jobs/route", job, 16)
    organism = serve.get_app_handle("organism")
    await bench.handle("miner_pick_handle_c16", lambda n: organism.route_job.remote(JobRouteRequest(**job(n)), False), 16,
                       note="through the OrganismManager's DeploymentHandle, without the HTTP proxy")
    print("sweep", flush=True)
    for concurrency in sweep:
        await bench.http(f"sweep_resolve_c{concurrency}", "/organism/resolve-route", lambda n: single, concurrency)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--quick", action="store_true", help="short run for development (under 3 minutes)")
    parser.add_argument("--throughput-optimized", action="store_true", help="set RAY_SERVE_THROUGHPUT_OPTIMIZED=1")
    args = parser.parse_args()
    seconds, warmup, sweep = (3.0, 1.0, [1, 8, 32]) if args.quick else (12.0, 3.0, [1, 2, 4, 8, 16, 32, 64])
    started = time.time()
    cluster = stack.start(args.throughput_optimized)
    try:
        bench = Bench(cluster, seconds, warmup)
        asyncio.run(measure(bench, sweep))
        memory_mb = stack.ray_resident_memory_mb()
    finally:
        stack.stop()
    mode = "quick" if args.quick else "full"
    report.write(RESULTS, bench.results, memory_mb, mode, args.throughput_optimized, time.time() - started)
    print(f"wrote {RESULTS}/ ({mode}, {time.time() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
