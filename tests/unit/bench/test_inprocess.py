"""The benchmark's in-process workloads run on today's core: a refactor that breaks them fails here, not in `make bench`."""

from bench import inprocess


def test_picker_decisions_run_the_real_pick_and_booking_path():
    measured = inprocess.picker_decisions(calls=20, booked_calls=5)
    assert [(m.name, m.requests, m.errors) for m in measured] == [
        ("pick_decision_5x200_miners", 20, 0),
        ("pick_decision_1x1000_miners", 20, 0),
        ("pick_decision_4_executors_90pct_booked", 5, 0),
    ]


def test_cache_lookup_runs():
    measured = inprocess.cache_lookup(calls=100)
    assert (measured.requests, measured.errors) == (100, 0)


def test_whole_picks_run_through_the_picker_over_sqlite():
    measured = inprocess.picker_picks(calls=5, miners=10, classes=2)
    assert (measured.name, measured.requests, measured.errors) == ("picker_picks_2x5_miners_sqlite", 5, 0)
