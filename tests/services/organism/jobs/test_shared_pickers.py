"""Two pickers on one database answer as one: a seeded schedule of picks, replays, receipts and releases across both.

The two clusters of a NewCluster upgrade, in process: `old` is stocked and
has booked for a while when `new` starts on the same database (its book
loaded then, blind to what `old` does next unless it reads the store). Each
step goes to either picker at random; a job's receipts, releases and replays
go to either, whichever booked it. Miners have 8 executors and 30 s of
allowance, a job takes 3 executor-seconds: both limits bind within the run.
The ledger (`tests.picker_ledger`) counts what one picker would never answer, a pick
refused as busy while a miner had room included; all zero.
A second schedule runs the two pickers in two threads at once (PostgreSQL,
where they really overlap): no releases, so the allowance spent only grows
and the final count catches any overspending on the way.
"""

import random
import threading
import time
import uuid

import pytest

from organism.jobs.picker_actor import MinerPicker
from organism.state.sql import SqlStore
from organism.state.store import DocumentStore, InMemoryStore
from tests.picker_ledger import Answer, Ledger
from tests.services.organism.pickers import CLASS, OPS, new_job, stock

MINERS, EXECUTORS, ALLOWANCE, STEPS = 6, 8, 30.0, 600
ACTIONS = {"pick": 40, "replay": 15, "started": 15, "finished": 10, "release": 20}


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def open_store(request, tmp_path):
    """Opens the test's one database (every call another connection to it, as another cluster's)."""
    if request.param == "memory":
        shared = InMemoryStore()
        return lambda: shared
    location = str(tmp_path / "jobs.db") if request.param == "sqlite" else request.getfixturevalue("postgres_dsn")
    scope = f"shared-{uuid.uuid4().hex[:8]}/jobs"
    return lambda: SqlStore(location, scope)


def picker_on(store: DocumentStore) -> MinerPicker:
    return MinerPicker("store-tests", "", 12, store=store)


def step(ledger: Ledger, pickers: list[MinerPicker], rng: random.Random, action: str) -> None:
    """One action on a picker chosen at random; a job's own actions pick one of its jobs at random."""
    picker = rng.choice(pickers)
    if action == "pick":
        spec = new_job()
        ledger.picked(spec.job_uuid, spec.executor_seconds, Answer.of(picker.route_jobs([spec])[0]))
        return
    wanted = {"replay": ("reserved", "running"), "started": ("reserved",), "finished": ("running",),
              "release": ("reserved", "running")}[action]
    jobs = sorted(u for u, b in ledger.bookings.items() if b.state in wanted)
    if not jobs:
        return
    job_uuid = rng.choice(jobs)
    booking = ledger.bookings[job_uuid]
    if action == "replay":
        ledger.picked(job_uuid, booking.seconds, Answer.of(picker.route_jobs([new_job(job_uuid)])[0]))
    elif action == "release":
        ledger.released(job_uuid, Answer.of(picker.release_job(job_uuid, "cancelled", OPS)))
    else:
        receipt = picker.record_receipt(action, job_uuid, booking.hotkey, CLASS, time.time(), None, OPS)
        ledger.receipt(job_uuid, action, Answer.of(receipt))


@pytest.mark.parametrize("seed", [7, 21])
def test_a_seeded_schedule_across_two_pickers_breaks_nothing(open_store, seed):
    rng, ledger = random.Random(seed), Ledger(ALLOWANCE, EXECUTORS, hotkeys=tuple(f"m{i:03d}" for i in range(MINERS)))
    old = stock(picker_on(open_store()), MINERS, EXECUTORS, ALLOWANCE)
    for _ in range(STEPS // 10):  # the old cluster alone
        step(ledger, [old], rng, rng.choices(list(ACTIONS), list(ACTIONS.values()))[0])
    pickers = [old, picker_on(open_store())]  # the new cluster starts: both serve
    for _ in range(STEPS):
        step(ledger, pickers, rng, rng.choices(list(ACTIONS), list(ACTIONS.values()))[0])

    for picker in pickers:
        ledger.lost_bookings((u, Answer.of(picker.job(u))) for u in ledger.bookings)
    assert ledger.violations() == dict.fromkeys(ledger.violations(), 0), ledger.counts
    stored = open_store().load("allowances")
    for hotkey in {b.hotkey for b in ledger.bookings.values()}:  # the store agrees with what callers were told
        burned = sum(b.seconds for b in ledger.bookings.values() if b.hotkey == hotkey and b.burned)
        assert stored[f"{hotkey}|-14|708"]["remaining"] == ALLOWANCE - burned
    assert ledger.counts["refused NoMinerWithEnoughAllowance"] > 0  # the allowance did bind
    assert min(ledger.counts[c] for c in ("replays", "started receipts", "finished receipts", "releases")) > 0


def test_two_pickers_in_two_threads_never_overspend_or_double_book(request, tmp_path):
    location, scope = request.getfixturevalue("postgres_dsn"), f"threads-{uuid.uuid4().hex[:8]}/jobs"
    ledger = Ledger(ALLOWANCE, executors=20)  # slots to spare: only the allowance binds
    pickers = [stock(picker_on(SqlStore(location, scope)), MINERS, 20, ALLOWANCE)]
    pickers.append(picker_on(SqlStore(location, scope)))
    lock = threading.Lock()  # the ledger's, not the pickers': their calls overlap

    def run(me: int) -> None:
        rng, other = random.Random(me), pickers[1 - me]
        for _ in range(STEPS // 2):
            spec = new_job()
            answer = pickers[me].route_jobs([spec])[0]
            with lock:
                ledger.picked(spec.job_uuid, spec.executor_seconds, Answer.of(answer))
            if getattr(answer, "replayed", True) or rng.random() < 0.5:
                continue
            replay = other.route_jobs([spec])[0]  # replayed on the other, then started there
            started = other.record_receipt("started", spec.job_uuid, answer.miner.hotkey, CLASS, time.time(), None, OPS)
            with lock:
                ledger.picked(spec.job_uuid, spec.executor_seconds, Answer.of(replay))
                ledger.receipt(spec.job_uuid, "started", Answer.of(started))

    threads = [threading.Thread(target=run, args=(me,)) for me in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ledger.lost_bookings((u, Answer.of(pickers[0].job(u))) for u in ledger.bookings)
    assert ledger.violations() == dict.fromkeys(ledger.violations(), 0), ledger.counts
    assert ledger.counts["bookings"] == MINERS * 9  # every allowance spent to the last job (30 s: 9 jobs leave 3 s)
