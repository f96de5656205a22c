"""Excused declines: a miner that proves it was busy with other work (a receipt of a job not routed
here, unfinished, counting at the time) declines without an incident; anything else is one."""

import pytest

from organism.jobs import lifecycle

from .scenario import BLOCK, CLASS, FEEDER, NOW, OWNER, job, make_book, reserve, run


def other_work(book, at: float = NOW - 5, ttl_s: float = 100.0) -> None:
    """Miner a starts another validator's job (not routed here) at `at`."""
    lifecycle.receipt(book, "started", "other-1", "a", CLASS, at, ttl_s, at, BLOCK, FEEDER)


def decline(book, by: str, at: float = NOW):
    if by == "receipt":
        return lifecycle.receipt(book, "declined", "job-1", "a", CLASS, at, None, at, BLOCK, FEEDER)
    return lifecycle.release(book, "job-1", "declined", at, OWNER)


CASES = [
    ("no other work", [], "declined", 1),
    ("busy with another validator's job", [lambda b: other_work(b)], "declined", 0),
    ("that job finished before", [lambda b: other_work(b), lambda b: lifecycle.receipt(
        b, "finished", "other-1", "a", CLASS, NOW - 1, None, NOW - 1, BLOCK, FEEDER)], "declined", 1),
    ("its receipt lapsed", [lambda b: other_work(b, at=NOW - 50, ttl_s=10)], "declined", 1),
    ("it started after the decline", [lambda b: other_work(b, at=NOW + 1)], "declined", 1),
    ("busy with a job routed here", [lambda b: reserve(b, run(b, job("mine")), "mine"),
                                     lambda b: lifecycle.receipt(b, "started", "mine", "a", CLASS, NOW - 5, None,
                                                                 NOW - 5, BLOCK, FEEDER)], "declined", 1),
    ("a failure is never excused", [lambda b: other_work(b)], "failed", 1),
]


@pytest.mark.parametrize("by", ["receipt", "release"])
@pytest.mark.parametrize("name, before, ending, incidents", CASES, ids=[case[0] for case in CASES])
def test_a_decline_is_excused_only_by_proof_of_other_work(name, before, ending, incidents, by):
    book = make_book({"hotkey": "a", "online": 3, "remaining": 10_000.0, "initial": 10_000.0})
    for step in before:
        step(book)
    reserve(book, run(book, job("job-1")), "job-1")
    if ending == "declined":
        decline(book, by)
    elif by == "receipt":
        lifecycle.receipt(book, "failed", "job-1", "a", CLASS, NOW, None, NOW, BLOCK, FEEDER)
    else:
        lifecycle.release(book, "job-1", "failed", NOW, OWNER)
    assert len(book.incidents.get("a", [])) == incidents
    assert book.jobs["job-1"].state == ending
