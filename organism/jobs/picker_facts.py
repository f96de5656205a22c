"""The miner picker's changes of facts and configuration: audited, and recorded in the trace log.

Each method decides with `facts` (pure), then writes the change, its audit
entry (`stamp` says who) and its trace event (`simulation.recording`) in one
transaction (`_apply`): a change the picker refused writes nothing. `changes`
is the decorator of every method that changes the book (the picker's picks
and job endings too). `PickerFacts` is mixed into `MinerPicker`, whose state
and transactions it uses.
"""

import contextlib
import functools
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from contracts.audit import AuditStamp
from contracts.chain import ChainView
from contracts.dynamic_config import DynamicConfig
from contracts.jobs import Allowance, BlacklistEntry, Manifest, Miner
from contracts.refusals import Refusal
from organism.jobs import documents, facts, trace_log
from organism.jobs.book import MinerBook
from organism.jobs.records import Change
from organism.jobs.simulation import recording
from organism.jobs.simulation.trace import Event
from organism.state.store import Transaction
from servekit.withdrawals import fenced

T = TypeVar("T")


def changes(method: Callable[..., T]) -> Callable[..., T]:
    """A call that changes the book: it does nothing if withdrawn while it waited
    (`servekit.withdrawals`), and runs under the book's lock, which a read holds only to copy the book."""

    @fenced
    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> T:
        with self._book_lock:
            return method(self, *args, **kwargs)

    return run


class PickerFacts:
    _book: MinerBook
    _netuid: int
    _trace: trace_log.Recorder
    _random: random.Random
    _unrecorded: list[Event]
    _transaction: Callable[[], contextlib.AbstractContextManager[Transaction]]

    def _reseed(self) -> None:
        """A fresh random source for the spread ordering, its seed recorded with the next change."""
        seed = random.getrandbits(63)
        self._random, self._unrecorded = random.Random(seed), [recording.seed(seed, time.time())]

    def _record(self, tx: Transaction, events: list[Event], now: float) -> None:
        """The trace events of a change, in its transaction (the seed first, once per start)."""
        tx.write([self._trace.put([*self._unrecorded, *events], now)])
        self._unrecorded = []  # a failed commit reseeds (`MinerPicker._transaction`)

    def _apply(self, change: Change | Refusal, event: Event) -> Any:
        """Write a change with its trace event; its answer."""
        if isinstance(change, Refusal):
            return change
        with self._transaction() as tx:
            self._write(change, tx)
            self._record(tx, [event], event.at)
        return change.answer

    @staticmethod
    def _write(change: Change, tx: Transaction) -> None:
        """A change's documents, and what it does to the job's slot claim, if anything."""
        documents.write(tx, change.writes)
        if change.release_claim:
            tx.release(change.answer.job_uuid)
        elif change.hold_claim_until is not None:
            tx.hold(change.answer.job_uuid, change.hold_claim_until)

    # --- facts and configuration (audited: `stamp` says who) ----------------------------
    @changes
    def upsert_miner(self, miner: Miner, stamp: AuditStamp) -> Miner:
        now = time.time()
        return self._apply(facts.register(self._book, miner, stamp, now), recording.miner(miner, now))

    @changes
    def deregister(self, hotkey: str, stamp: AuditStamp) -> Refusal | None:
        """The miner leaves the candidates; its jobs, incidents and blacklist entry stay."""
        now = time.time()
        return self._apply(facts.deregister(self._book, hotkey, stamp, now), recording.deregister(hotkey, now))

    @changes
    def add_manifests(self, manifests: list[Manifest]) -> list[Manifest] | Refusal:
        now = time.time()
        return self._apply(facts.manifests(self._book, manifests, now), recording.manifests(manifests, now))

    @changes
    def blacklist(self, hotkey: str, reason: str, duration_s: float | None, stamp: AuditStamp) -> BlacklistEntry | Refusal:
        now = time.time()
        return self._apply(facts.blacklist(self._book, hotkey, reason, duration_s, stamp, now),
                           recording.blacklist(hotkey, reason, duration_s, now))

    @changes
    def lift_blacklist(self, hotkey: str, stamp: AuditStamp) -> Refusal | None:
        now = time.time()
        return self._apply(facts.lift_blacklist(self._book, hotkey, stamp, now), recording.lift(hotkey, now))

    @changes
    def upsert_allowances(self, rows: list[Allowance], stamp: AuditStamp) -> list[Allowance] | Refusal:
        now = time.time()
        return self._apply(facts.allowances(self._book, rows, stamp, now), recording.allowances(rows, now))

    @changes
    def set_block(self, block: int, stamp: AuditStamp) -> ChainView:
        now = time.time()
        return self._apply(facts.chain(self._book, block, self._netuid, stamp, now), recording.block(block, now))

    @changes
    def patch_config(self, patch: Any, stamp: AuditStamp) -> DynamicConfig | Refusal:
        now = time.time()
        return self._apply(facts.patch_config(self._book, patch, stamp, now), recording.config(patch, now))

