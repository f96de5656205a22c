"""What keeping a routing report costs a pick: the same picks with and without it, interleaved in one process.

    python -m bench.report_cost [--batches 40] [--batch 50]

Two pickers stocked alike (`inprocess.stocked_picker`, same seed) take the
same picks in alternating batches: one as it is, one with the report step
taken out (`MinerPicker._route` deciding, booking and writing what the
booking writes, without building or writing the report). Alternating small
batches in one process gives both the same machine, the same process and
the same growth of their stores: on this shared two-core box a pick's speed
moves 15 % from one process to the next, more than the report costs, so
separate processes (or a checkout from before reports, which differs in
everything else that changed since) cannot price it. Per shape the figure is
each variant's picks per second of CPU time and of the wall clock, summed
over its batches, and the ratio with/without.
"""

import argparse
import random
import tempfile
import time

from bench.inprocess import one_pick, stocked_picker
from organism.jobs import documents
from organism.jobs.picker_actor import MinerPicker

SHAPES = ((1000, 1), (1000, 5), (20, 1))  # (miners, classes): compact reports, compact, the largest full one


def without_report(picker: MinerPicker) -> MinerPicker:
    """`picker`, its picks no longer building or keeping a routing report."""
    def route(spec, now, tx):  # noqa: ANN001, ANN202 - MinerPicker._route's own signature
        answer, _, writes = picker._decide(spec, now, tx)
        documents.write(tx, writes)
        return answer

    picker._route = route
    return picker


def _timed(picker: MinerPicker, names: list[str], picks: range) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for n in picks:
        one_pick(picker, names, n)
    return time.process_time() - cpu, time.perf_counter() - wall


def compare(miners: int, classes: int, batches: int, batch: int) -> dict[str, tuple[float, float]]:
    """Picks per CPU second and per wall second, with and without reports, over `batches` alternating batches."""
    spent = {"with": [0.0, 0.0], "without": [0.0, 0.0]}
    with tempfile.TemporaryDirectory() as with_dir, tempfile.TemporaryDirectory() as without_dir:
        random.seed(0)
        pickers = {"with": stocked_picker(with_dir, miners, classes)}
        random.seed(0)
        picker, names = stocked_picker(without_dir, miners, classes)
        pickers["without"] = (without_report(picker), names)
        for first in range(0, batches * batch, batch):
            order = ("with", "without") if first // batch % 2 else ("without", "with")
            for variant in order:
                cpu, wall = _timed(*pickers[variant], range(first, first + batch))
                spent[variant][0] += cpu
                spent[variant][1] += wall
    picks = batches * batch
    return {variant: (picks / cpu, picks / wall) for variant, (cpu, wall) in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    for miners, classes in SHAPES:
        rates = compare(miners, classes, args.batches, args.batch)
        figures = [f"{name}: without {rates['without'][clock]:,.0f}/s, with {rates['with'][clock]:,.0f}/s, "
                   f"ratio {rates['with'][clock] / rates['without'][clock]:.3f}"
                   for clock, name in ((0, "CPU time"), (1, "wall clock"))]
        print(f"{miners} miners in {classes} class(es), {args.batches * args.batch} picks each: " + "; ".join(figures))


if __name__ == "__main__":
    main()
