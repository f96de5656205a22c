"""`python -m bench.acknowledgement [--changes N]`: how long an acknowledged change takes to answer.

A change of the control plane answers once every live OrganismManager and
Coordinator replica has applied it (README: What "acknowledged" means). With
two of each (the `make run` stack with a second coordinator replica) it times
N rule changes (one added, then removed, in turn), N epoch rotations and N
dynamic-config patches from request to answer, first on an idle stack, then
with resolves loading it (wrk, c=16), and counts answers that named a late
replica (`X-Control-Plane-Late`). Written to bench/results/acknowledgement.md.
"""

import argparse
import subprocess
import time
from pathlib import Path

import httpx

from bench import stack, wrk
from bench.loadgen import Measurement, summarize
from bench.run import SINGLE

RESULTS = Path(__file__).with_name("results") / "acknowledgement.md"
RULE = {"task_type": "graph_embed", "domain": "ack-bench", "logical_id": "utility_organ_1"}
RULE_REF = {"task_type": RULE["task_type"], "domain": RULE["domain"]}  # what a removal names
CHANGES = ({"add": [RULE]}, {"remove": [RULE_REF]})


def timed(name: str, changes: int, send) -> tuple[Measurement, int]:
    latencies, late = [], 0
    for n in range(changes):
        began = time.perf_counter()
        answer = send(n)
        latencies.append(time.perf_counter() - began)
        answer.raise_for_status()
        late += "X-Control-Plane-Late" in answer.headers
    return summarize(name, 1, latencies, 0, sum(latencies)), late


def each_kind(client: httpx.Client, changes: int, beside: str) -> list[tuple[Measurement, int]]:
    """`changes` of each kind, one at a time; `beside` names what else the stack was doing."""
    return [
        timed(f"rule change ({beside})", changes, lambda n: client.put("/routing/rules", json=CHANGES[n % 2])),
        timed(f"epoch rotation ({beside})", changes, lambda n: client.post("/registry/epoch")),
        timed(f"config patch ({beside})", changes,
              lambda n: client.patch("/config", json={"DYNAMIC_INCIDENTS_TO_BLACKLIST": 3 + n % 2})),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.acknowledgement")
    parser.add_argument("--changes", type=int, default=40)
    args = parser.parse_args()
    cluster = stack.start("haproxy", coordinator_replicas=2)
    try:
        with httpx.Client(base_url=cluster.base_url + "/organism", headers={"Authorization": cluster.auth},
                          timeout=30) as client:
            for change in CHANGES:  # warm: every replica follows
                client.put("/routing/rules", json=change).raise_for_status()
            idle = each_kind(client, args.changes, "idle")
            background = subprocess.Popen(
                wrk.command(cluster.base_url + "/organism/resolve-route", 16, 3600, cluster.auth),
                env=wrk.environment(cluster.auth, "fixed", SINGLE), stdout=subprocess.DEVNULL)
            try:
                loaded = each_kind(client, args.changes, "resolves c=16")
            finally:
                background.terminate()
    finally:
        stack.stop()
    results = idle + loaded
    lines = ["# Acknowledged changes (issue 19)", "",
             f"`make run`'s stack (two OrganismManager replicas) with a second Coordinator replica, first idle, then with"
             f" resolves at c=16 (wrk) meanwhile; {args.changes} changes of each kind, one at a time.", "",
             "| change | n | p50 ms | p95 ms | p99 ms | answers naming a late replica |", "|---|---|---|---|---|---|",
             *(f"| {m.name} | {m.requests} | {m.p50_ms:.1f} | {m.p95_ms:.1f} | {m.p99_ms:.1f} | {late} |"
               for m, late in results)]
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
