"""In-process figures: the coordinator's cache hit, one miner-picker decision, and whole picks.

No HTTP and no Ray: what the pure core costs. The picker decision runs over
1,000 miners with bookings in flight, on the fast path real picks take (the
candidate index), in the shapes that matter: five classes of 200 miners, one
class of 1,000, and 1,000 miners of 4 executors each with 90 % of slots booked.
A whole pick (`picker_picks`) is the picker actor's own `route_jobs` of one
job, in process, over SQLite in a temporary directory: the decision, the slot
claim, the booking and its routing report, committed (`bench.report_cost`
prices the report alone).
"""

import functools
import random
import tempfile
import time

from bench.loadgen import Measurement, time_each
from contracts.audit import AuditStamp
from contracts.dynamic_config import ORIGINAL_EXECUTOR_CLASSES, DynamicConfig, DynamicConfigPatch
from contracts.jobs import Allowance, JobSpec, Manifest, Miner
from coordinator.route_cache import RouteCache
from organism.jobs.book import MinerBook
from organism.jobs.candidate_index import CandidateIndex
from organism.jobs.lifecycle import book_job
from organism.jobs.picker_actor import MinerPicker
from organism.jobs.policy import pick
from organism.jobs.records import Selection

BLOCK, NETUID = 25, 12


def cache_lookup(calls: int = 200_000) -> Measurement:
    cache = RouteCache(3600.0, 0.5)
    keys = [(f"type_{i}", None) for i in range(100)]
    for key in keys:
        cache.put(key, "organ", "task", "i", "e")
    return time_each("cache_lookup_inprocess", calls, lambda n: cache.get(keys[n % 100]))


def _book(classes: int, executors: int, now: float) -> tuple[MinerBook, list[str]]:
    book = MinerBook(config=DynamicConfig())
    names = sorted(ORIGINAL_EXECUTOR_CLASSES)[:classes]
    for i in range(1000):
        hotkey = f"m{i:04d}"
        book.upsert_miner(Miner(hotkey, "10.0.0.1", 8000, 4, 10**18))
        book.add_manifests([Manifest(hotkey, names[i % classes], executors, executors, now - 60, 0)])
        book.upsert_allowances([Allowance(hotkey, -14, 708, 1e9, random.uniform(1e8, 1e9))])
    return book, names


def _route(book: MinerBook, index: CandidateIndex, names: list[str], n: int, now: float) -> None:
    job = JobSpec(f"job-{n}", names[n % len(names)], 1, 1, 1, 0, False)
    outcome = pick(book, job, BLOCK, NETUID, now, index)
    if isinstance(outcome, Selection):
        book_job(book, job, outcome, now, BLOCK)


def picker_decisions(calls: int = 2000, booked_calls: int = 300) -> list[Measurement]:
    now = time.time()
    results = []
    for name, classes, executors, booked in [
        ("pick_decision_5x200_miners", 5, 1_000_000, 0),
        ("pick_decision_1x1000_miners", 1, 1_000_000, 0),
        ("pick_decision_4_executors_90pct_booked", 5, 4, 3600),
    ]:
        book, names = _book(classes, executors, now)
        index = CandidateIndex()
        for n in range(booked):
            _route(book, index, names, -1 - n, now)
        route = functools.partial(_route, book, index, names, now=now)
        results.append(time_each(name, calls if not booked else booked_calls, route))
    return results


def stocked_picker(state_dir: str, miners: int, classes: int) -> tuple[MinerPicker, list[str]]:
    """The picker actor's class over SQLite in `state_dir`, with `miners` in `classes` ready to be picked."""
    stamp, now = AuditStamp("bench", "admin", "bench"), time.time()
    names = sorted(ORIGINAL_EXECUTOR_CLASSES)[:classes]
    picker = MinerPicker("bench", state_dir, NETUID)
    picker.patch_config(DynamicConfigPatch(DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS=3600), stamp)
    for i in range(miners):
        picker.upsert_miner(Miner(f"m{i:04d}", "10.0.0.1", 8000, 4, 10**18), stamp)
    picker.add_manifests([Manifest(f"m{i:04d}", names[i % classes], 1_000_000, 1_000_000, now - 60, 0)
                          for i in range(miners)])
    picker.upsert_allowances([Allowance(f"m{i:04d}", -14, 708, 1e9, random.uniform(1e8, 1e9))
                              for i in range(miners)], stamp)
    picker.set_block(BLOCK, stamp)
    return picker, names


def one_pick(picker: MinerPicker, names: list[str], n: int) -> None:
    picker.route_jobs([JobSpec(f"pick-{n}", names[n % len(names)], 1, 1, 1, 0, False, caller="bench")])


def picker_picks(calls: int = 2000, miners: int = 1000, classes: int = 1) -> Measurement:
    """Whole picks through the picker actor's class, in process, committed to SQLite: `miners` in `classes`."""
    with tempfile.TemporaryDirectory() as state_dir:
        picker, names = stocked_picker(state_dir, miners, classes)
        route = functools.partial(one_pick, picker, names)
        return time_each(f"picker_picks_{classes}x{miners // classes}_miners_sqlite", calls, route)
