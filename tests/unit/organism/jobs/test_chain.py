"""Cycle arithmetic against the reference values, and the block between reports."""

import pytest

from contracts.chain import ChainReport, chain_view, cycle_containing

from .scenario import NOW


@pytest.mark.parametrize(
    "block, start, stop", [(25, -14, 708), (708, 708, 1430), (707, -14, 708), (1429, 708, 1430), (-14, -14, 708)]
)
def test_cycle_reference_values(block, start, stop):
    cycle = cycle_containing(block, 12)
    assert (cycle.start, cycle.stop) == (start, stop)


def test_last_block_of_a_cycle_leaves_twelve_seconds():
    assert cycle_containing(1429, 12).seconds_left(1429) == 12


@pytest.mark.parametrize("elapsed, block", [(0, 100), (11.9, 100), (12, 101), (25, 102), (-5, 100)])
def test_reported_block_advances_every_twelve_seconds(elapsed, block):
    assert ChainReport(100, NOW).current_block(NOW + elapsed) == block


def test_view_shows_the_report_the_current_block_and_its_cycle():
    view = chain_view(ChainReport(700, NOW), 12, NOW + 120)
    assert (view.reported_block, view.current_block, view.cycle.start, view.cycle.stop) == (700, 710, 708, 1430)
