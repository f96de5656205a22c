"""`python -m bench.run [--quick] [--throughput-optimized]`: measure, then write bench/results/.

One run, two clusters (Ray picks its ingress when it starts):
1. Serve's Python proxy: the no-op deployment at c=1/8/32, and single resolve at c=32.
2. Serve's HAProxy ingress (the default): the no-op again, then every workload:
   single resolve c=1/8/32/64, bulk 10 and 100, coordinator route warm (one key),
   mixed (200 keys) and cold (a new key each time), coordinator tasks (route +
   execute), miner picks over HTTP at c=1/16 with 1,000 miners, the same pick
   through a DeploymentHandle, and the stack's resident memory at the end.
HTTP load comes from wrk; the handle workload and the in-process figures (cache
hit, picker decision) from Python.
"""

import argparse
import asyncio
import random
import subprocess
import time
from pathlib import Path

import httpx
from ray import serve

from bench import inprocess, propagation, report, stack, wrk
from bench.loadgen import Measurement, run_closed_loop, summarize
from contracts.dynamic_config import ORIGINAL_EXECUTOR_CLASSES
from contracts.wire import JobRouteRequest

RESULTS = Path(__file__).with_name("results")
SINGLE = '{"task": {"type": "graph_embed", "domain": "facts"}}'
BULK_10 = '{"tasks": [' + ", ".join(
    f'{{"key": "k{i}", "type": "{"graph_embed" if i % 2 else "fact_search"}", "domain": "d{i}"}}' for i in range(10)) + "]}"
BULK_100 = '{"tasks": [' + ", ".join(
    f'{{"key": "k{i}", "type": "{"graph_embed" if i % 2 else "fact_search"}", "domain": "d{i % 20}"}}' for i in range(100)) + "]}"
WARM_ROUTE = '{"type": "graph_embed", "domain": "facts"}'


class Bench:
    def __init__(self, seconds: float, warmup_s: float) -> None:
        self.seconds = seconds
        self.warmup_s = warmup_s
        self.results: list[Measurement] = []
        self.facts: dict[str, float] = {}  # single figures that are not workloads

    def http(self, cluster: stack.Stack, name: str, path: str, concurrency: int, **workload) -> Measurement:
        measured = wrk.measure(name, cluster.base_url + path, concurrency, self.seconds, self.warmup_s, cluster.auth,
                               **workload)
        return self.keep(measured)

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
        print(f"  {measurement.name:<34} c={measurement.concurrency:<3} {measurement.throughput:>9.1f}/s "
              f"p50 {measurement.p50_ms:>8.3f} p95 {measurement.p95_ms:>8.3f} p99 {measurement.p99_ms:>8.3f} ms "
              f"errors {measurement.errors}", flush=True)
        return measurement


def load_miners(cluster: stack.Stack, miners: int = 1000) -> tuple[str, ...]:
    """1,000 miners over the five classes, executors never all busy: the pick itself is measured."""
    classes = tuple(sorted(ORIGINAL_EXECUTOR_CLASSES))
    hotkeys = [f"bench-miner-{i:04d}" for i in range(miners)]
    with httpx.Client(base_url=cluster.base_url + "/organism", headers={"Authorization": cluster.auth}, timeout=60) as client:
        for hotkey in hotkeys:
            client.put(f"/miners/{hotkey}", json={"address": "10.0.0.1", "port": 8000, "collateral_wei": str(10**18)}).raise_for_status()
        manifests = [{"hotkey": h, "executor_class": classes[i % len(classes)], "online_executor_count": 1_000_000,
                      "executor_count": 1_000_000} for i, h in enumerate(hotkeys)]
        allowances = [{"hotkey": h, "initial": 1e9, "remaining": random.uniform(1e8, 1e9)} for h in hotkeys]
        client.post("/manifests", json={"manifests": manifests}).raise_for_status()
        client.put("/allowances", json={"cycle": {"start": -14, "stop": 708}, "allowances": allowances}).raise_for_status()
        client.put("/chain", json={"block": 25}).raise_for_status()
    return classes


def python_proxy_phase(bench: Bench, throughput_optimized: bool) -> None:
    print("Serve's Python proxy", flush=True)
    cluster = stack.start("python", throughput_optimized)
    try:
        for concurrency in (1, 8, 32):
            bench.http(cluster, f"noop_python_c{concurrency}", "/noop/", concurrency)
        bench.http(cluster, "resolve_python_c32", "/organism/resolve-route", 32, body=SINGLE)
        for concurrency in (32, 64):
            bench.http(cluster, f"route_new_keys_python_c{concurrency}", "/pipeline/route", concurrency, kind="cold",
                       count_static=True)
    finally:
        stack.stop()


async def haproxy_phase(bench: Bench, throughput_optimized: bool) -> float:
    print("Serve's HAProxy ingress", flush=True)
    cluster = stack.start("haproxy", throughput_optimized)
    try:
        for concurrency in (1, 8, 32):
            bench.http(cluster, f"noop_haproxy_c{concurrency}", "/noop/", concurrency)
        await bench.handle("noop_handle_c32", lambda n: cluster.noop_handle.noop_handle.remote(), 32)
        for concurrency in (1, 8, 32, 64):
            bench.http(cluster, f"resolve_c{concurrency}", "/organism/resolve-route", concurrency, body=SINGLE)
        bench.http(cluster, "bulk_10_c16", "/organism/resolve-routes", 16, body=BULK_10, items=10)
        bench.http(cluster, "bulk_100_c8", "/organism/resolve-routes", 8, body=BULK_100, items=100)
        bench.http(cluster, "route_warm_c32", "/pipeline/route", 32, body=WARM_ROUTE)
        for concurrency in (32, 64):
            bench.http(cluster, f"route_mix_200_keys_c{concurrency}", "/pipeline/route", concurrency, kind="mix",
                       count_static=True, note="8 types x 25 domains, drawn at random")
            bench.http(cluster, f"route_new_keys_c{concurrency}", "/pipeline/route", concurrency, kind="cold",
                       count_static=True, note="a new key every request: every one a remote resolve or a static fallback")
        bench.http(cluster, "tasks_c32", "/pipeline/tasks", 32, body=WARM_ROUTE, note="route and execute on the organ")
        classes = load_miners(cluster)
        for concurrency in (1, 16):
            bench.http(cluster, f"pick_c{concurrency}", "/organism/jobs/route", concurrency, kind="job", classes=classes)
        organism = serve.get_app_handle("organism")

        def job(n: int) -> JobRouteRequest:
            return JobRouteRequest(uuid=f"00000000-0000-4000-8000-{n:012d}", executor_class=classes[n % len(classes)],
                                   download_time_limit=1, execution_time_limit=1, upload_time_limit=1)

        await bench.handle("pick_handle_c16", lambda n: organism.route_job.remote(job(n), False), 16,
                           note="through the OrganismManager's DeploymentHandle, without HTTP")
        memory_mb = stack.ray_resident_memory_mb()
        change_under_load(bench, cluster)
        return memory_mb
    finally:
        stack.stop()


def change_under_load(bench: Bench, cluster: stack.Stack) -> None:
    """Rotations and rule changes reaching the coordinator, with resolves loading the stack meanwhile."""
    background = subprocess.Popen(wrk.command(cluster.base_url + "/organism/resolve-route", 16, 60, cluster.auth),
                                  env=wrk.environment(cluster.auth, "fixed", SINGLE), stdout=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=cluster.base_url, headers={"Authorization": cluster.auth}, timeout=30) as client:
            bench.keep(propagation.rotations(client))
            bench.keep(propagation.rule_changes(client))
            bench.facts["longest_no_active_instance_after_rotation_s"] = propagation.inactive_after_rotation(client)
            background.terminate()
            bench.facts["remote_again_after_organism_outage_s"] = propagation.remote_again_after_outage(
                client, lambda: stack.redeploy(cluster))
    finally:
        background.terminate()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--quick", action="store_true", help="3 s per point (about 4 minutes)")
    parser.add_argument("--throughput-optimized", action="store_true", help="set RAY_SERVE_THROUGHPUT_OPTIMIZED=1")
    args = parser.parse_args()
    wrk.require_wrk()
    started = time.time()
    bench = Bench(*((3.0, 1.0) if args.quick else (10.0, 2.0)))
    bench.keep(inprocess.cache_lookup())
    for measurement in inprocess.picker_decisions():
        bench.keep(measurement)
    python_proxy_phase(bench, args.throughput_optimized)
    memory_mb = asyncio.run(haproxy_phase(bench, args.throughput_optimized))
    mode = "quick" if args.quick else "full"
    report.write(RESULTS, bench.results, bench.facts, memory_mb, mode, args.throughput_optimized, time.time() - started)
    print(f"wrote {RESULTS}/ ({mode}, {time.time() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
