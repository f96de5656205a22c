"""HTTP load from wrk, a compiled client: the server is what gets measured.

A Python client on the same two cores eats the CPU the server needs (the
no-op read 306 requests/s through aiohttp and 521 through wrk). Every HTTP
workload runs `wrk` with `request.lua`, which makes the bodies (fixed, a new
coordinator key each time, a 200-key mix, a new job uuid each time) and
prints one JSON line of counts and latency percentiles.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

from bench.loadgen import Measurement

SCRIPT = Path(__file__).with_name("request.lua")
INSTALL_HINT = "wrk is missing: `apt-get install -y wrk` (Debian, Ubuntu) or `brew install wrk` (macOS)"


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(INSTALL_HINT)
    return path


def command(url: str, concurrency: int, seconds: float, auth: str) -> list[str]:
    return [require_wrk(), f"-t{min(2, concurrency)}", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", "10s",
            "-s", str(SCRIPT), url]


def environment(auth: str, kind: str, body: str, classes: tuple[str, ...] = (), count_static: bool = False) -> dict[str, str]:
    return {**os.environ, "AUTH": auth, "KIND": kind, "BODY": body, "CLASSES": ",".join(classes),
            "COUNT_STATIC": "1" if count_static else "0"}


def run(url: str, concurrency: int, seconds: float, auth: str, kind: str = "fixed", body: str = "{}",
        classes: tuple[str, ...] = (), count_static: bool = False) -> dict[str, int]:
    env = environment(auth, kind, body, classes, count_static)
    output = subprocess.run(command(url, concurrency, seconds, auth), env=env, capture_output=True, text=True,
                            check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK_JSON "))
    return json.loads(line.removeprefix("WRK_JSON "))


def measure(name: str, url: str, concurrency: int, seconds: float, warmup_s: float, auth: str, kind: str = "fixed",
            body: str = "{}", classes: tuple[str, ...] = (), items: int = 1, note: str = "",
            count_static: bool = False) -> Measurement:
    """One workload; with `count_static`, the share of coordinator routes answered statically too."""
    if warmup_s:
        run(url, concurrency, warmup_s, auth, kind, body, classes)
    counts = run(url, concurrency, seconds, auth, kind, body, classes, count_static)
    elapsed = counts["duration_us"] / 1e6
    static_share = counts["static"] / counts["requests"] if count_static and counts["requests"] else None
    return Measurement(
        name, concurrency, counts["requests"], counts["non2xx"] + counts["socket_errors"], round(elapsed, 3),
        round(counts["requests"] / elapsed, 1), counts["p50_us"] / 1000, counts["p95_us"] / 1000,
        counts["p99_us"] / 1000, items, note, static_share,
    )
