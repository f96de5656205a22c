"""The miner picker's reads beside its queue: listings, dry runs, routing reports and the audit trail, never behind a pick.

The picker runs changes one at a time (`picker_actor`); these reads run in a
concurrency group of their own (`READ_GROUPS`), two at a time, beside that
queue: on a copy of the book taken under the lock changes hold (`reading`,
milliseconds), or from the store by key (the audit trail, routing reports and
the trace log; a tombstone for a dry run). A busy picker still answers them, and they make no pick wait.
`PickerReads` is mixed into `MinerPicker`, whose state it reads.
"""

import threading
import time
from typing import Any

import ray

from contracts.audit import AuditPage, AuditStamp
from contracts.job_reports import RoutingReport
from contracts.jobs import JobRouted, JobSpec, MinerStatus
from contracts.refusals import Refusal
from organism.jobs import documents, listing, reading, report, tombstones, trace_log, views
from organism.jobs.answers import current_block
from organism.jobs.book import MinerBook
from organism.jobs.facts import unknown_miners
from organism.state import audit
from organism.state.store import DocumentStore

READS = "reads"
READ_GROUPS = {READS: 2}


class PickerReads:
    _book: MinerBook
    _book_lock: threading.Lock
    _store: DocumentStore
    _netuid: int

    def _readable(self, jobs: bool = True) -> MinerBook:
        with self._book_lock:  # a change in progress ends first; the copy takes milliseconds
            return reading.readable_copy(self._book, jobs)

    @ray.method(concurrency_group=READS)
    def dry_run(self, spec: JobSpec) -> JobRouted | Refusal:
        book, now = self._readable(), time.time()
        buried = tombstones.refusal(book, spec, now, lambda job_uuid: self._buried(job_uuid, now))
        return reading.with_report(book, spec, buried or reading.dry_run(book, spec, self._netuid, now), now)

    @ray.method(concurrency_group=READS)
    def reports(self, job_uuid: str, reader: AuditStamp) -> list[RoutingReport] | Refusal:
        return report.readable(documents.reports_of(self._store, job_uuid, time.time()), job_uuid, reader)

    def _buried(self, job_uuid: str, now: float) -> bool:
        with self._store.transaction() as tx:
            return tx.buried(job_uuid, now)

    @ray.method(concurrency_group=READS)
    def miners(self, limit: int, after: str | None = None, executor_class: str | None = None,
               blacklisted: bool | None = None) -> bytes:
        book, now = self._readable(jobs=False), time.time()
        return listing.miners_json(book, now, current_block(book, now), limit, after, executor_class, blacklisted)

    @ray.method(concurrency_group=READS)
    def miner(self, hotkey: str) -> MinerStatus | Refusal:
        book, now = self._readable(jobs=False), time.time()
        if hotkey not in book.miners:
            return unknown_miners([hotkey])
        return views.miner_status(book, hotkey, now, current_block(book, now))

    @ray.method(concurrency_group=READS)
    def trace_page(self, since: float, after: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        events, following = trace_log.page(self._store, since, after, time.time(), limit)
        return list(trace_log.as_lines(events)), following

    @ray.method(concurrency_group=READS)
    def audit_page(self, before: str | None, limit: int, action: str | None, subject: str | None) -> AuditPage:
        return audit.page(self._store, before, limit, action, subject)
