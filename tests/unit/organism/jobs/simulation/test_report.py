"""The report's figures: the Gini coefficient and percentiles, by table."""

import pytest

from organism.jobs.simulation.report import gini, percentiles

GINI = [
    ("nobody", [], 0.0),
    ("all zero", [0.0, 0.0], 0.0),
    ("all equal", [1.0, 1.0, 1.0, 1.0], 0.0),
    ("one of two takes all", [0.0, 2.0], 0.5),
    ("one of four takes all", [0.0, 0.0, 0.0, 4.0], 0.75),
    ("order does not matter", [3.0, 1.0, 2.0], pytest.approx(2 / 9)),
]


@pytest.mark.parametrize("name, values, expected", GINI, ids=[case[0] for case in GINI])
def test_gini(name, values, expected):
    assert gini(values) == expected


def test_percentiles_scale_and_empty():
    assert percentiles(list(range(1, 101)), scale=10.0) == {"p50": 510.0, "p95": 960.0, "max": 1000.0}
    assert percentiles([]) == {"p50": 0.0, "p95": 0.0, "max": 0.0}
