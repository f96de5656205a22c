"""Measurements, and the closed-loop load of the workloads that are not HTTP.

HTTP load comes from wrk (`bench.wrk`); calls through a DeploymentHandle and
in-process decisions are driven here: C workers call back to back for a fixed
time after a warm-up, and their latencies become a `Measurement`.
"""

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

Call = Callable[[int], Awaitable[bool]]  # request number -> ok?


@dataclass
class Measurement:
    name: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    throughput: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    items_per_request: int = 1
    note: str = ""
    static_share: float | None = None  # coordinator routes answered statically, where counted

    @property
    def items_per_second(self) -> float:
        return self.throughput * self.items_per_request

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "items_per_second": self.items_per_second}


def summarize(name: str, concurrency: int, latencies_s: list[float], errors: int, seconds: float,
              items_per_request: int = 1, note: str = "") -> Measurement:
    if len(latencies_s) >= 2:
        cuts = statistics.quantiles(latencies_s, n=100, method="inclusive")
        p50, p95, p99 = cuts[49], cuts[94], cuts[98]
    else:
        p50 = p95 = p99 = latencies_s[0] if latencies_s else float("nan")
    return Measurement(name, concurrency, len(latencies_s), errors, round(seconds, 3),
                       round(len(latencies_s) / seconds, 1), round(p50 * 1000, 3), round(p95 * 1000, 3),
                       round(p99 * 1000, 3), items_per_request, note)


async def run_closed_loop(call: Call, concurrency: int, seconds: float, warmup_s: float) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    counter = 0
    start = time.perf_counter()
    measure_from = start + warmup_s
    stop_at = measure_from + seconds

    async def worker() -> None:
        nonlocal errors, counter
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                return
            counter += 1
            ok = await call(counter)
            done = time.perf_counter()
            if now >= measure_from and done <= stop_at:
                if ok:
                    latencies.append(done - now)
                else:
                    errors += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors, seconds


def time_each(name: str, calls: int, call: Callable[[int], object], note: str = "") -> Measurement:
    """Time `calls` in-process calls one by one."""
    latencies = []
    started = time.perf_counter()
    for n in range(calls):
        t0 = time.perf_counter_ns()
        call(n)
        latencies.append((time.perf_counter_ns() - t0) / 1e9)
    return summarize(name, 1, latencies, 0, time.perf_counter() - started, note=note)
