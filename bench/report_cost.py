"""What keeping a routing report costs a pick: whole in-process picks, this checkout against another, one run.

    python -m bench.report_cost /path/to/a/checkout/from/before/reports [--rounds 3] [--calls 2000]

Runs `inprocess.picker_picks` (this file's version of it) in a fresh process
per round and checkout, alternating, so both see the same machine at the
same time; each shape's figure is the median of the rounds, by the wall
clock and by CPU time, and the ratio after/before is printed per shape.
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
SHAPES = ((1000, 1), (1000, 5), (20, 1))  # (miners, classes): compact reports, compact, the largest full one
MEASURE = """
import json, runpy, sys, time
picks = runpy.run_path(sys.argv[1])["picker_picks"]
timed_each, cpu = picks.__globals__["time_each"], []

def cpu_timed(name, calls, call, note=""):
    started = time.process_time()
    measured = timed_each(name, calls, call, note)
    cpu.append(calls / (time.process_time() - started))
    return measured

picks.__globals__["time_each"] = cpu_timed
wall = [picks(int(sys.argv[2]), miners, classes).throughput for miners, classes in json.loads(sys.argv[3])]
print(json.dumps([wall, cpu]))
"""


def measure(checkout: Path, calls: int) -> list[list[float]]:
    """Picks per second of each shape, by the wall clock and by CPU time, with `checkout`'s code under this
    file's workload (CPU time is what the picker spends: it moves less with other work on the machine)."""
    env = {"PYTHONPATH": str(checkout), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", MEASURE, str(HERE / "bench" / "inprocess.py"), str(calls),
                          json.dumps(SHAPES)], env=env, check=True, capture_output=True, text=True, cwd=checkout)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="a checkout of the code before routing reports")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    runs: dict[str, list[list[list[float]]]] = {"before": [], "after": []}
    for _ in range(args.rounds):
        runs["before"].append(measure(args.before.resolve(), args.calls))
        runs["after"].append(measure(HERE, args.calls))
    for place, (miners, classes) in enumerate(SHAPES):
        figures = []
        for clock, name in ((0, "wall clock"), (1, "CPU time")):
            before = statistics.median(r[clock][place] for r in runs["before"])
            after = statistics.median(r[clock][place] for r in runs["after"])
            figures.append(f"{name}: before {before:,.0f}/s, after {after:,.0f}/s, ratio {after / before:.3f}")
        print(f"{miners} miners in {classes} class(es): " + "; ".join(figures))


if __name__ == "__main__":
    main()
