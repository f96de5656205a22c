"""`python -m bench.profile_tasks LABEL`: where `POST /pipeline/tasks` spends its time, per process.

The `make run` stack (bench.stack), the no-op and tasks at c=32 (wrk), then
py-spy at 100 Hz for 10 s on the coordinator replica, the organism replica
and an organ actor while tasks load them; raw profiles are written to
bench/results/profiles/tasks-LABEL-PROCESS.txt (one stack and its sample
count a line) and the figures printed. Run it on two checkouts to compare.
"""

import subprocess
import sys
from pathlib import Path

import psutil

from bench import stack, wrk
from bench.run import WARM_ROUTE

PROFILES = Path(__file__).with_name("results") / "profiles"
PROCESSES = (("coordinator", "ServeReplica:coordinator"), ("organism", "ServeReplica:organism"), ("organ", "ray::Organ"))


def main(label: str) -> int:
    cluster = stack.start("haproxy")
    try:
        noop = wrk.measure("noop", cluster.base_url + "/noop/", 32, 8, 2, cluster.auth)
        tasks = wrk.measure("tasks", cluster.base_url + "/pipeline/tasks", 32, 8, 2, cluster.auth, body=WARM_ROUTE)
        print(f"{label}: no-op {noop.throughput:.0f}/s; tasks {tasks.throughput:.0f}/s"
              f" ({tasks.throughput / noop.throughput:.2f}x), p50 {tasks.p50_ms:.0f} ms, p95 {tasks.p95_ms:.0f} ms", flush=True)
        pids = {}
        for p in psutil.process_iter(["pid", "cmdline"]):
            title = " ".join(p.info["cmdline"] or [])
            for key, needle in PROCESSES:
                if needle in title:
                    pids.setdefault(key, p.info["pid"])
        print(pids, flush=True)
        spy = {key: subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "-p", str(pid), "-d", "10",
                                      "-r", "100", "-f", "raw", "-o", str(PROFILES / f"tasks-{label}-{key}.txt")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for key, pid in pids.items()}
        wrk.run(cluster.base_url + "/pipeline/tasks", 32, 11, cluster.auth, "fixed", WARM_ROUTE)
        for recording in spy.values():
            recording.wait()
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
