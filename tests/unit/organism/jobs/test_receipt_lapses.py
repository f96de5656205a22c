"""Receipts by when they lapse: taken once their ttl ended before the horizon, each once, whatever left the book first."""

import pytest

from contracts.jobs import Receipt
from organism.jobs.receipt_lapses import ReceiptLapses

CLASS = "always_on.test"


def receipt(kind: str, job_uuid: str, timestamp: float, ttl_s: float = 10.0) -> Receipt:
    return Receipt(kind, job_uuid, "a", CLASS, timestamp, ttl_s)


@pytest.mark.parametrize(
    "case, held, gone_before, horizon, taken, left",
    [
        ("lapsed before the horizon, oldest first", [receipt("finished", "b", 20.0), receipt("finished", "a", 0.0),
                                                     receipt("finished", "c", 100.0)], [], 50.0, ["a", "b"], ["c"]),
        ("at the horizon is not before it", [receipt("finished", "a", 40.0)], [], 50.0, [], ["a"]),
        ("a started and a finished receipt of one job", [receipt("started", "a", 0.0), receipt("finished", "a", 5.0)],
         [], 50.0, ["a", "a"], []),
        ("one that left the book another way is passed over", [receipt("started", "a", 0.0), receipt("started", "b", 0.0)],
         ["a"], 50.0, ["b"], []),
    ],
)
def test_take(case, held, gone_before, horizon, taken, left):
    started, finished, lapses = {}, {}, ReceiptLapses()
    for r in held:
        (finished if r.kind == "finished" else started)[r.job_uuid] = r
        lapses.add(r)
    for job_uuid in gone_before:
        started.pop(job_uuid)
    assert [r.job_uuid for r in lapses.take(horizon, started, finished)] == taken
    assert sorted([*started, *finished]) == left


def test_a_receipt_replaced_by_a_newer_one_lapses_with_the_newer():
    first, newer = receipt("started", "a", 0.0), receipt("started", "a", 100.0)
    started, lapses = {"a": newer}, ReceiptLapses()
    lapses.add(first)
    lapses.add(newer)
    assert lapses.take(50.0, started) == [] and started == {"a": newer}
    assert lapses.take(200.0, started) == [newer]


def test_a_receipt_read_again_is_queued_once():
    lapses, done = ReceiptLapses(), receipt("finished", "a", 0.0)
    for _ in range(1000):  # a job reloaded from the store on every read of it
        lapses.add(done)
    assert len(lapses) == 1
    assert lapses.take(50.0, {"a": done}) == [done]
    lapses.add(done)  # read again after it was taken: queued again, and taken again if it is back in the book
    assert lapses.take(50.0, {"a": done}) == [done]
