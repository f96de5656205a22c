"""MinerPicker: the detached named actor through which every pick goes.

A plain (non-async) actor with `max_concurrency=1`: Ray runs its calls one at
a time, so picks and reservations from every OrganismManager replica (and any
other caller) are serialized cluster-wide, and no two callers can book the
same executor slot. Picks that arrive together at a replica come as one
`route_jobs` call: decided one after the other, written once. Each call
changes the `MinerBook`, writes the changed documents to the store and only
then answers; if the write fails the book is reloaded from the store (or,
when the store is unreachable, before the next change), so memory never
runs ahead of disk. A restarted actor (`max_restarts=-1`) loads the same
book: nothing it acknowledged is lost. What receipts and releases do to a
job is decided in `lifecycle`; the actor writes it (`documents` says how each
record is stored). Every pick keeps its routing report (`report`) in the
transaction of its booking (a refusal's alone), and every committed change
its routing inputs in the trace log (`trace_log`, `picker_facts`), which
`routing trace export` reads back for the simulator.

Two pickers on one database (a NewCluster upgrade) behave as one: a call
about a job first loads it from the store under its lock (`reload_job`), a booking is made only if
the store confirms its allowance (`stored_allowance`), and a pick refused as every miner busy asks
the store's slot claims first (`stored_slots`).

It implements `contracts.picker.Picker`; answers are typed: records, views,
`JobRouted`, or a `Refusal`; never HTTP.
"""

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import ray

from contracts.audit import AuditStamp
from contracts.chain import ChainView, chain_view
from contracts.dynamic_config import DynamicConfig
from contracts.jobs import (
    JobCursor,
    JobRouted,
    JobSpec,
    JobState,
    JobView,
    Receipt,
)
from contracts.picker import Picker
from contracts.refusals import PickerUnavailable, Refusal, StoreUnavailable
from organism.detached import Versioned, current, get_or_create_detached, kill
from organism.jobs import booking, documents, lifecycle, report, stored_allowance, stored_slots, trace_log, views
from organism.jobs.answers import current_block
from organism.jobs.book import MinerBook
from organism.jobs.candidate_index import CandidateIndex
from organism.jobs.documents import load_book
from organism.jobs.picker_facts import PickerFacts, changes
from organism.jobs.picker_reads import READ_GROUPS, PickerReads
from organism.jobs.records import Change, Writes
from organism.jobs.retention import PRUNE_EVERY_S, prune
from organism.jobs.simulation import recording
from organism.jobs.simulation.trace import Event
from organism.settings import OrganismSettings
from organism.state import audit
from organism.state.locate import open_store
from organism.state.store import DocumentStore, Transaction
from servekit.actors import actor_client
from servekit.withdrawals import CONCURRENCY_GROUPS, Withdrawable, Withdrawals

T = TypeVar("T")


class MinerPicker(Versioned, Withdrawable, PickerFacts, PickerReads):
    def __init__(self, namespace: str, state_dir: str, netuid: int, store: DocumentStore | None = None) -> None:
        self._store = store or open_store("jobs", namespace, Path(state_dir))
        self._loaded = load_book(self._store)
        self._index = CandidateIndex()
        self._netuid = netuid
        self._pruned_at = 0.0
        self._book_behind_store = False
        self._withdrawals = Withdrawals()
        self._book_lock = threading.Lock()
        self._trace = trace_log.Recorder(self._store, time.time())  # every committed change's routing inputs
        self._reseed()  # the spread ordering's draws (`_random`), replayable from the recorded seed

    @property
    def _book(self) -> MinerBook:
        """The book; reloaded first when a failed write left memory ahead of the store
        (this raises StoreUnavailable while the store is still out)."""
        if self._book_behind_store:
            self._loaded, self._index = load_book(self._store), CandidateIndex()
            self._book_behind_store = False
        return self._loaded

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Transaction]:
        """One transaction; a call its caller withdrew (it gave up waiting) commits nothing."""
        try:
            with self._store.transaction() as tx:
                yield tx
                self._withdrawals.commit_point()  # last before the commit: after it, the call's answer is due
        except Exception:
            self._book_behind_store = True  # memory must not run ahead of disk
            self._reseed()  # the draws of what was not committed are not in the trace: draw anew, from a recorded seed
            with contextlib.suppress(StoreUnavailable):
                self._book  # noqa: B018 - reload now if the store answers
            raise

    def _commit(self, writes: Writes) -> None:
        with self._transaction() as tx:
            documents.write(tx, writes)

    def _current_block(self, now: float) -> int | None:
        return current_block(self._book, now)

    # --- picking --------------------------------------------------------------------
    @changes
    def route_jobs(self, specs: list[JobSpec]) -> list[JobRouted | Refusal]:
        """Route jobs in order, each decision seeing the bookings before it; a booking is written,
        with the slot it claims, before any answer. One transaction for the batch where the store
        serializes writers (SQLite), one per job where pickers of other processes may compete
        (PostgreSQL: each transaction then holds one miner's lock at a time)."""
        now = time.time()
        if now - self._pruned_at >= PRUNE_EVERY_S:  # keeps a pick proportional to live bookings
            self._commit(prune(self._book, now))
            if int(now // 3600) != int(self._pruned_at // 3600):  # hourly: the audit trail's, reports', trace's, tombstones'
                audit.forget_old(self._store, now)
                documents.forget_reports(self._store, now)
                trace_log.forget(self._store, now)
                self._store.forget_tombstones(now)
            self._pruned_at = now
        groups = [specs] if getattr(self._store, "serializes_writers", True) else [[spec] for spec in specs]
        answers: list[JobRouted | Refusal] = []
        for group in groups:
            with self._transaction() as tx:
                decided = [self._route(spec, now, tx) for spec in group]
                self._record(tx, [recording.route(spec, answer, now) for spec, answer in zip(group, decided, strict=True)], now)
            answers += decided
        return answers

    def _route(self, spec: JobSpec, now: float, tx: Transaction) -> JobRouted | Refusal:
        """Decide, book, and keep the decision's routing report in the same transaction."""
        answer, slot, writes = self._decide(spec, now, tx)
        kept = report.build(spec, answer, now, self._current_block(now), slot, report.owner_of(self._book, spec))
        documents.write(tx, writes + Writes([kept]))  # one statement for the booking's documents and the report
        return answer

    def _decide(self, spec: JobSpec, now: float, tx: Transaction) -> tuple[JobRouted | Refusal, int | None, Writes]:
        """The answer, the slot it claimed (None when it booked nothing) and what to write: the slot's claim is
        in `tx` already."""
        book = self._book  # first: a reload also renews the index
        documents.reload_job(tx, book, spec.job_uuid)  # routed by another picker: a replay here too
        slots: list[int] = []  # the slot a claim took (booking.route books the first claimed miner)

        def claimed(hotkey: str) -> bool:
            slot = self._claimed(spec, hotkey, now, tx)
            if slot is not None:
                slots.append(slot)
            return slot is not None

        answer, writes = booking.route(
            book, spec, self._netuid, now, self._index, lambda job_uuid: tx.buried(job_uuid, now), claimed,
            self._random, second_look=lambda refusal: (stored_allowance.relearn(book, tx, refusal, now, spec.executor_class)
                                                       or stored_slots.relearn(book, tx, refusal, spec.executor_class, now)),
        )  # second look: what it learnt of another picker's holds, or of its slots, was out of date
        return answer, slots[-1] if slots and not isinstance(answer, Refusal) else None, writes

    def _claimed(self, spec: JobSpec, hotkey: str, now: float, tx: Transaction) -> int | None:
        """Claim a slot of `hotkey` (its number) if the store confirms its allowance; when none is free (booked by
        a picker of another process), remember the miner full until its first claim lapses."""
        if not stored_allowance.confirm(self._book, tx, spec, hotkey, self._current_block(now), now):
            return None  # another picker's holds or deductions took it: the book has learnt them
        online = self._book.manifests[spec.executor_class][hotkey].online_executor_count
        held_until = now + self._book.config.DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS
        slot = tx.claim_slot(hotkey, spec.executor_class, spec.job_uuid, online, held_until, now)
        if slot is None:
            claims = tx.claims_of(hotkey, spec.executor_class)
            self._book.full_until[(hotkey, spec.executor_class)] = min((c.held_until for c in claims), default=now + 1)
        return slot

    @changes
    def record_receipt(
        self, kind: str, job_uuid: str, hotkey: str, executor_class: str, timestamp: float, ttl_s: float | None,
        stamp: AuditStamp,
    ) -> Receipt | Refusal:
        now = time.time()
        return self._apply_to_job(job_uuid, lambda book: lifecycle.receipt(
            book, kind, job_uuid, hotkey, executor_class, timestamp, ttl_s, now, self._current_block(now), stamp),
            recording.receipt(kind, job_uuid, hotkey, executor_class, timestamp, ttl_s, stamp, now))

    def _apply_to_job(self, job_uuid: str, decide: Callable[[MinerBook], Change | Refusal], event: Event) -> Any:
        """Decide on a job as the store holds it (another picker may have changed it), write it under its lock."""
        with self._transaction() as tx:
            documents.reload_job(tx, self._book, job_uuid)
            change = decide(self._book)
            if isinstance(change, Refusal):
                return change
            self._write(change, tx)
            self._record(tx, [event], event.at)
        return change.answer

    # --- jobs ---------------------------------------------------------------------------
    @changes
    def release_job(self, job_uuid: str, reason: str, stamp: AuditStamp) -> JobView | Refusal:
        now = time.time()
        return self._apply_to_job(job_uuid, lambda book: lifecycle.release(book, job_uuid, reason, now, stamp),
                                  recording.release(job_uuid, reason, stamp, now))

    def job(self, job_uuid: str) -> JobView | Refusal:
        """The job as the store holds it (routed here or by another picker on the database)."""
        with self._book_lock, self._store.transaction() as tx:
            documents.reload_job(tx, self._book, job_uuid)
            return lifecycle.view_of(self._book, job_uuid, time.time())

    def jobs(self, limit: int, before: JobCursor | None, state: str | None,
             hotkey: str | None) -> tuple[list[JobView], JobCursor | None]:
        return views.jobs_page(self._book, time.time(), limit, before, JobState(state) if state else None, hotkey)

    def chain(self) -> ChainView | None:
        report = self._book.chain
        return None if report is None else chain_view(report, self._netuid, time.time())

    def config(self) -> DynamicConfig:
        return self._book.config

    def hold(self, seconds: float) -> None:
        """Fault injection: busy for `seconds`, as a slow database would make it."""
        time.sleep(min(seconds, 60.0))


def get_or_create_picker(settings: OrganismSettings) -> ray.actor.ActorHandle:
    # One call at a time is the point; retries are safe because every call is idempotent
    # (a routed uuid replays its booking).
    return get_or_create_detached(
        MinerPicker, settings.picker_actor_name, settings.namespace, settings.namespace, str(settings.state_path),
        settings.netuid, resources=settings.state_actor_resources(), max_concurrency=1, max_task_retries=3,
        concurrency_groups={**CONCURRENCY_GROUPS, **READ_GROUPS},  # withdrawals and reads run beside the queue
    )


async def connect_picker(settings: OrganismSettings) -> Picker:
    """The one picker (started, or replaced when it runs other code), as its contract."""
    handle = await current(lambda: get_or_create_picker(settings), kill)
    return actor_client(lambda: handle, Picker, settings.picker_call_timeout_s, PickerUnavailable, "the miner picker",
                        withdraw=True)  # one call at a time: one it had no time for is withdrawn from its queue
