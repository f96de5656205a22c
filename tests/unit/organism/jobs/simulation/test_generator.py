"""Generated traces: valid, in time order, shaped by their parameters, the same for a seed."""

import io
import itertools

import pytest

from organism.jobs.simulation.generator import Parameters, generate
from organism.jobs.simulation.trace import read, write


def events(**parameters):
    out = io.StringIO()
    write(out, generate(Parameters(**parameters)))
    return list(read(out.getvalue().splitlines()))  # the reader checks every line and the time order


def kinds(trace, kind):
    return [e for e in trace if e.kind == kind]


CASES = [
    ("sizes", {"jobs": 40, "miners": 7}, lambda t: (len(kinds(t, "route")), len(kinds(t, "miner"))) == (40, 7)),
    ("everyone declines first", {"jobs": 20, "decline_rate": 1.0},
     lambda t: all(e.fields["then"][0]["outcome"] == "declined" for e in kinds(t, "route"))),
    ("no other work", {"jobs": 50, "other_work": 0.0}, lambda t: not kinds(t, "receipt")),
    ("other work starts and finishes", {"jobs": 50, "other_work": 0.5},
     lambda t: len(kinds(t, "receipt")) > 0 and len(kinds(t, "receipt")) % 2 == 0),
    ("one class", {"jobs": 20, "classes": "always_on.test:1"},
     lambda t: {e.fields["job"]["executor_class"] for e in kinds(t, "route")} == {"always_on.test"}),
    ("attempts", {"jobs": 10, "attempts": 2}, lambda t: {e.fields["attempts"] for e in kinds(t, "route")} == {2}),
    ("blocks stay fresh", {"jobs": 20}, lambda t: max(b.at - a.at for a, b in itertools.pairwise(kinds(t, "block"))) <= 60),
]


@pytest.mark.parametrize("name, parameters, holds", CASES, ids=[case[0] for case in CASES])
def test_the_parameters_shape_the_trace(name, parameters, holds):
    assert holds(events(**parameters))


def test_the_same_seed_gives_the_same_trace():
    as_text = [[e.as_json() for e in events(jobs=30, seed=seed)] for seed in (3, 3, 4)]
    assert as_text[0] == as_text[1] != as_text[2]
