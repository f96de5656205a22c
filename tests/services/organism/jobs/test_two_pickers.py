"""Two pickers in two processes, one database, the same miners: never more bookings than slots.

What an upgrade's second cluster, or two validators sharing one PostgreSQL, do.
Each process runs its own MinerPicker (its own in-memory book, loaded from the
database, blind to the other's bookings) and picks as fast as it can; only the
database's slot claims stand between them and an over-booking. SQLite runs the
same race between two processes on one machine and holds too (its writers are
serialized); it is single-cluster by design because its file lives on one
node's volume, not because a race could break it.
"""

import multiprocessing
import time
import uuid
from collections import Counter

import pytest

from contracts.jobs import JobRouted
from organism.jobs.picker_actor import MinerPicker
from organism.state.sql import SqlStore
from tests.services.organism.pickers import new_job, stocked_picker

MINERS, EXECUTORS, PICKS_PER_PICKER = 100, 8, 1000


def _pick_forever(location: str, scope: str, start_at: float, results: multiprocessing.Queue) -> None:
    picker = MinerPicker("race", "", 12, store=SqlStore(location, scope))
    while time.time() < start_at:  # both begin together
        time.sleep(0.001)
    won = 0
    for _ in range(0, PICKS_PER_PICKER, 10):
        won += sum(isinstance(answer, JobRouted) for answer in picker.route_jobs([new_job() for _ in range(10)]))
    results.put(won)


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_two_pickers_never_book_more_than_a_miners_slots(backend, tmp_path, request):
    location = request.getfixturevalue("postgres_dsn") if backend == "postgres" else str(tmp_path / "jobs.db")
    scope = f"race-{uuid.uuid4().hex[:8]}/jobs"
    stocked_picker(location, scope, MINERS, EXECUTORS)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start_at = time.time() + 3
    pickers = [context.Process(target=_pick_forever, args=(location, scope, start_at, results)) for _ in range(2)]
    for process in pickers:
        process.start()
    won = [results.get(timeout=300) for _ in pickers]
    for process in pickers:
        process.join(timeout=30)

    claims = SqlStore(location, scope).claims()
    per_miner = Counter(claim.hotkey for claim in claims)
    assert max(per_miner.values()) <= EXECUTORS  # no miner over-booked
    assert len({(c.hotkey, c.slot) for c in claims}) == len(claims) == sum(won)  # one job per slot, every win held
    assert sum(won) == MINERS * EXECUTORS  # 2,000 picks for 800 slots: every slot booked exactly once
    if backend == "postgres":  # one transaction per pick: the two really interleave (SQLite takes turns by batch)
        assert all(w > 0 for w in won), won
