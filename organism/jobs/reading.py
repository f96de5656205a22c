"""Reads beside the pick queue: a copy of the miner book for a listing or a dry run to take its time over. Pure.

The picker serializes every change of the book; a read that walked the live
book in its queue would make picks wait (a listing of 1,000 miners, a dry
run over every miner). Instead a reader takes `readable_copy` of the book,
under the lock the changes hold, in a few milliseconds, and works on its
copy outside it: picks wait for the copy, never for the read. The copy's
collections are its own (reading one may change it: allowance holds lapse
when read); the records in them are shared, so a read may see a job a
moment newer than its copy (jobs are edited in place), never a collection
changing under it. The lapse heap of receipts (`receipt_lapses`) is shared:
only a prune reads it, and no copy is pruned.
"""

import dataclasses

from sortedcontainers import SortedList

from contracts.jobs import Explain, JobRouted, JobSpec
from contracts.refusals import Refusal
from organism.jobs import report
from organism.jobs.answers import chosen, current_block, replayed_expiry
from organism.jobs.book import MinerBook


def readable_copy(book: MinerBook, jobs: bool = True) -> MinerBook:
    """The book as it is now, for reading: what miner views and a dry-run pick look at. Without `jobs`
    (a miner's status reads its slots, never the jobs' records) the copy has none: copying them and their
    order was half the copy's time at 40,000 bookings."""
    return dataclasses.replace(
        book,
        miners=dict(book.miners),
        manifests={executor_class: dict(by) for executor_class, by in book.manifests.items()},
        blacklist=dict(book.blacklist),
        allowances={cycle: dict(rows) for cycle, rows in book.allowances.items()},
        started=dict(book.started),
        finished=dict(book.finished),
        reservations=dict(book.reservations),
        jobs=dict(book.jobs) if jobs else {},
        jobs_by_slot={slot: set(uuids) for slot, uuids in book.jobs_by_slot.items()},
        incidents={hotkey: list(kept) for hotkey, kept in book.incidents.items()},
        holds=book.holds.copy(),
        order=book.order.copy() if jobs else SortedList(),
        changed=set(book.changed),
        full_until=dict(book.full_until),
    )


def dry_run(book: MinerBook, spec: JobSpec, netuid: int, now: float) -> JobRouted | Refusal:
    """What a pick would answer on `book` (a copy): the reference path, every miner's reason; nothing booked."""
    decided = chosen(book, spec, netuid, now, None)
    if isinstance(decided, Refusal):
        return decided
    outcome, address = decided
    return JobRouted(spec.job_uuid, address, outcome.reason, replayed_expiry(book, spec, outcome, now),
                     outcome.replayed, True, outcome.explain)


def with_report(book: MinerBook, spec: JobSpec, answer: JobRouted | Refusal, now: float) -> JobRouted | Refusal:
    """A dry run's answer with its routing report in its explain (the report a pick would keep)."""
    explain = answer.explain or Explain()
    explain.report = report.build(spec, answer, now, current_block(book, now), None, report.owner_of(book, spec),
                                  dry_run=True)
    return answer if answer.explain is explain else dataclasses.replace(answer, explain=explain)
