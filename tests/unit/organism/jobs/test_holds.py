"""Allowance holds: a sum per miner and cycle that grows with each hold, shrinks when one is
released, and lapses on its own when a reservation expires."""

import pytest

from organism.jobs.holds import AllowanceHolds

CYCLE, OTHER = (0, 100), (100, 200)


def holds_of(*entries: tuple[str, str, tuple[int, int], float, float]) -> AllowanceHolds:
    holds = AllowanceHolds()
    for hotkey, job_uuid, cycle, seconds, until in entries:
        holds.hold(hotkey, job_uuid, cycle, seconds, until)
    return holds


@pytest.mark.parametrize(
    "case, entries, released, now, held, next_lapse",
    [
        ("nothing held", [], [], 0, 0, None),
        ("two holds add up", [("a", "j1", CYCLE, 30, 10), ("a", "j2", CYCLE, 40, 20)], [], 5, 70, 10),
        ("another cycle is its own sum", [("a", "j1", CYCLE, 30, 10), ("a", "j2", OTHER, 40, 20)], [], 5, 30, 10),
        ("another miner is not counted", [("a", "j1", CYCLE, 30, 10), ("b", "j2", CYCLE, 40, 20)], [], 5, 30, 10),
        ("a released hold leaves the sum", [("a", "j1", CYCLE, 30, 10), ("a", "j2", CYCLE, 40, 20)], ["j1"], 5, 40, 20),
        ("an expired hold lapses", [("a", "j1", CYCLE, 30, 10), ("a", "j2", CYCLE, 40, 20)], [], 10, 40, 20),
        ("every hold expired", [("a", "j1", CYCLE, 30, 10), ("a", "j2", CYCLE, 40, 20)], [], 20, 0, None),
        ("held again: the new amount and expiry", [("a", "j1", CYCLE, 30, 10), ("a", "j1", CYCLE, 50, 30)], [], 15, 50, 30),
    ],
)
def test_held_seconds_and_next_lapse(case, entries, released, now, held, next_lapse):
    holds = holds_of(*entries)
    for job_uuid in released:
        assert holds.release("a", job_uuid)
    assert (holds.held("a", CYCLE, now), holds.next_lapse("a", now)) == (held, next_lapse)


def test_release_answers_whether_anything_was_held():
    holds = holds_of(("a", "j1", CYCLE, 30, 10))
    assert (holds.release("a", "j1"), holds.release("a", "j1"), holds.release("b", "j1")) == (True, False, False)


def test_lapse_all_forgets_expired_holds_of_miners_nobody_read():
    holds = holds_of(("a", "j1", CYCLE, 30, 10), ("b", "j2", CYCLE, 40, 20))
    holds.lapse_all(15)
    assert (holds.holds("a", "j1"), holds.holds("b", "j2")) == (False, True)


@pytest.mark.parametrize(
    "case, job_uuid, now, held",
    [
        ("another job's hold is counted", "j9", 5, 70),
        ("the job's own hold is left out", "j1", 5, 40),
        ("its hold in another cycle was not counted", "j3", 5, 70),
        ("its lapsed hold was not counted", "j1", 10, 40),
    ],
)
def test_held_except_leaves_out_one_jobs_hold(case, job_uuid, now, held):
    holds = holds_of(("a", "j1", CYCLE, 30, 10), ("a", "j2", CYCLE, 40, 20), ("a", "j3", OTHER, 50, 20))
    assert holds.held_except("a", CYCLE, now, job_uuid) == held


def test_jobs_of_names_one_miners_holds():
    holds = holds_of(("a", "j1", CYCLE, 30, 10), ("a", "j2", OTHER, 40, 20), ("b", "j3", CYCLE, 50, 20))
    assert (sorted(holds.jobs_of("a")), holds.jobs_of("b"), holds.jobs_of("c")) == (["j1", "j2"], ["j3"], [])
