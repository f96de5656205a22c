"""Durable state: documents, and the executor slots bookings claim. Pure.

A store holds JSON documents in named collections, and *slot claims*: one row
per executor slot a job holds (miner, executor class, slot number, job,
held until). Everything a caller changes happens in one `transaction()`: its
writes and its claims commit together or not at all.

A claim is what makes an over-booking impossible to commit, even for two
pickers in two processes (two clusters during an upgrade, two validators on
one database): `claim_slot` takes the lowest slot number below the miner's
online executors that no live claim holds, under a lock on that miner, and a
slot number can have only one claim (the table's primary key) and a job only
one slot. It answers None when every slot is held; `held_until` then says
when the first one lapses.

An *allowance hold* is what a booking in flight holds of its miner's stake
allowance for one cycle: one row per job, counted until its reservation
lapses (`until`) or the job's hold ends (`drop_allowance_hold`). Every picker
on the database reads them (`allowance_held`), so two clusters never spend
one allowance twice; a pick locks the miner's allowance document (`get`)
before it counts and holds.

A *tombstone* is all that is left of a finished job once the book has
forgotten it: its uuid and until when it may not be routed again. A pick
asks `buried` inside its transaction; `forget_tombstones` drops those whose
time has passed.

When the database cannot be reached in time, every operation raises
`StoreUnavailable`: nothing was written, and the caller says so (a 503).

`InMemoryStore` is the test double and behaves the same (`reachable = False`
simulates an outage); `sql.SqlStore` is SQLite (the embedded default) or
PostgreSQL (selected by a DSN).
"""

import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from contracts.refusals import StoreUnavailable
from organism.state.document_text import document_text

Put = tuple[str, str, Any]  # collection, key, JSON-able document
Delete = tuple[str, str]  # collection, key


@dataclass(frozen=True, slots=True)
class Claim:
    hotkey: str
    executor_class: str
    slot: int
    job_uuid: str
    held_until: float


@dataclass(frozen=True, slots=True)
class Tombstone:
    job_uuid: str
    until: float  # the uuid may be routed again from then on

    def holds(self, now: float) -> bool:
        return now < self.until


@dataclass(frozen=True, slots=True)
class AllowanceHold:
    job_uuid: str
    hotkey: str
    cycle_start: int
    cycle_stop: int
    seconds: float
    until: float  # when the reservation behind it lapses

    def counts(self, hotkey: str, cycle: tuple[int, int], now: float) -> bool:
        return (self.hotkey, self.cycle_start, self.cycle_stop) == (hotkey, *cycle) and now < self.until


class Transaction(Protocol):
    def write(self, puts: Iterable[Put] = (), deletes: Iterable[Delete] = ()) -> None: ...

    def get(self, collection: str, key: str, lock: bool = True) -> Any:
        """One document as this transaction sees it (None if absent), locked against other writers until it ends
        (unless `lock` is false: then only read, as last committed)."""
        ...

    def claim_slot(
        self, hotkey: str, executor_class: str, job_uuid: str, online: int, held_until: float, now: float
    ) -> int | None: ...

    def claims_of(self, hotkey: str, executor_class: str) -> list[Claim]: ...

    def live_claim_counts(self, executor_class: str, now: float) -> dict[str, int]:
        """How many claims each miner of `executor_class` holds at `now` (one query, the rows unread)."""

    def hold(self, job_uuid: str, held_until: float) -> None: ...

    def release(self, job_uuid: str) -> None: ...

    def lock_job(self, job_uuid: str) -> None:
        """Hold the job's uuid until the transaction ends: whatever another picker does to that job
        waits, and what it did before is seen by the reads that follow."""
        ...

    def hold_allowance(self, hold: AllowanceHold) -> None:
        """Keep this hold (it replaces an earlier one of its job)."""

    def drop_allowance_hold(self, job_uuid: str) -> None: ...

    def allowance_held(self, hotkey: str, cycle: tuple[int, int], now: float) -> list[AllowanceHold]:
        """The holds on `hotkey`'s allowance in `cycle` that count at `now`."""

    def allowance_held_sum(self, hotkey: str, cycle: tuple[int, int], now: float, except_job: str) -> float:
        """The seconds `allowance_held` would sum, `except_job`'s hold left out, without reading the rows."""

    def live_allowance_holds(self, now: float) -> list[AllowanceHold]:
        """Every hold, of every miner and cycle, whose reservation has not lapsed at `now`."""

    def bury(self, tombstones: Iterable[Tombstone]) -> None:
        """Keep these tombstones (one replaces an earlier one of its uuid)."""

    def buried(self, job_uuid: str, now: float) -> bool:
        """A tombstone holds the uuid at `now`."""


class DocumentStore(Protocol):
    def load(self, collection: str) -> dict[str, Any]: ...

    def transaction(self) -> contextlib.AbstractContextManager[Transaction]: ...

    def write(self, puts: Iterable[Put] = (), deletes: Iterable[Delete] = ()) -> None: ...

    def claims(self) -> list[Claim]: ...

    def page(self, collection: str, before: str | None, limit: int) -> list[tuple[str, Any]]:
        """Up to `limit` documents with keys below `before`, highest key first (an append-only log)."""

    def page_up(self, collection: str, after: str, limit: int) -> list[tuple[str, Any]]:
        """Up to `limit` documents with keys above `after`, lowest key first (a log read forwards)."""

    def delete_before(self, collection: str, key: str) -> int: ...

    def forget_tombstones(self, now: float) -> int:
        """Drop the tombstones that no longer hold at `now`; how many."""


def slot_above(highest: int | None, online: int) -> int | None:
    """The slot above the highest one held, if it is below `online`: a claim's first choice, which
    SQL finds with one index lookup however many claims the miner has."""
    above = 0 if highest is None else highest + 1
    return above if above < online else None


def lowest_free_slot(taken: Iterable[int], online: int) -> int | None:
    """The lowest slot number below `online` that nobody holds (the gap search, when the top is taken)."""
    held = set(taken)
    return next((slot for slot in range(online) if slot not in held), None)


def free_slot(taken: Iterable[int], online: int) -> int | None:
    """The slot above the highest one held while there is room, else the lowest one nobody holds."""
    held = set(taken)
    above = slot_above(max(held, default=None), online)
    return above if above is not None else lowest_free_slot(held, online)


class _MemoryTransaction:
    def __init__(self, store: "InMemoryStore") -> None:
        self._documents = {c: dict(docs) for c, docs in store.documents.items()}
        self._claims = dict(store.claim_rows)
        self._tombstones = dict(store.tombstones)
        self._holds = dict(store.holds)

    def get(self, collection: str, key: str, lock: bool = True) -> Any:
        doc = self._documents.get(collection, {}).get(key)
        return None if doc is None else json.loads(doc)

    def write(self, puts: Iterable[Put] = (), deletes: Iterable[Delete] = ()) -> None:
        encoded = [(c, k, document_text(doc)) for c, k, doc in puts]  # fail before changing anything
        for collection, key in deletes:
            self._documents.get(collection, {}).pop(key, None)
        for collection, key, doc in encoded:
            self._documents.setdefault(collection, {})[key] = doc

    def claim_slot(self, hotkey: str, executor_class: str, job_uuid: str, online: int, held_until: float,
                   now: float) -> int | None:
        self._claims = {
            key: claim for key, claim in self._claims.items()
            if claim.job_uuid != job_uuid and not ((claim.hotkey, claim.executor_class) == (hotkey, executor_class)
                                                    and claim.held_until <= now)
        }
        slot = free_slot((c.slot for c in self.claims_of(hotkey, executor_class)), online)
        if slot is not None:
            self._claims[(hotkey, executor_class, slot)] = Claim(hotkey, executor_class, slot, job_uuid, held_until)
        return slot

    def claims_of(self, hotkey: str, executor_class: str) -> list[Claim]:
        return sorted((c for c in self._claims.values() if (c.hotkey, c.executor_class) == (hotkey, executor_class)),
                      key=lambda c: c.slot)

    def live_claim_counts(self, executor_class: str, now: float) -> dict[str, int]:
        counts: dict[str, int] = {}
        for claim in self._claims.values():
            if claim.executor_class == executor_class and claim.held_until > now:
                counts[claim.hotkey] = counts.get(claim.hotkey, 0) + 1
        return counts

    def hold(self, job_uuid: str, held_until: float) -> None:
        for key, claim in list(self._claims.items()):
            if claim.job_uuid == job_uuid:
                self._claims[key] = Claim(claim.hotkey, claim.executor_class, claim.slot, job_uuid, held_until)

    def release(self, job_uuid: str) -> None:
        self._claims = {key: c for key, c in self._claims.items() if c.job_uuid != job_uuid}

    def lock_job(self, job_uuid: str) -> None:
        """Nothing to wait for: one transaction at a time."""

    def hold_allowance(self, hold: AllowanceHold) -> None:
        self._holds[hold.job_uuid] = hold

    def drop_allowance_hold(self, job_uuid: str) -> None:
        self._holds.pop(job_uuid, None)

    def allowance_held(self, hotkey: str, cycle: tuple[int, int], now: float) -> list[AllowanceHold]:
        return [hold for hold in self._holds.values() if hold.counts(hotkey, cycle, now)]

    def allowance_held_sum(self, hotkey: str, cycle: tuple[int, int], now: float, except_job: str) -> float:
        return sum(hold.seconds for hold in self._holds.values()
                   if hold.counts(hotkey, cycle, now) and hold.job_uuid != except_job)

    def live_allowance_holds(self, now: float) -> list[AllowanceHold]:
        return [hold for hold in self._holds.values() if now < hold.until]

    def bury(self, tombstones: Iterable[Tombstone]) -> None:
        self._tombstones.update((t.job_uuid, t) for t in tombstones)

    def buried(self, job_uuid: str, now: float) -> bool:
        stone = self._tombstones.get(job_uuid)
        return stone is not None and stone.holds(now)


class InMemoryStore:
    def __init__(self) -> None:
        self.documents: dict[str, dict[str, str]] = {}
        self.claim_rows: dict[tuple[str, str, int], Claim] = {}
        self.tombstones: dict[str, Tombstone] = {}
        self.holds: dict[str, AllowanceHold] = {}
        self.reachable = True

    def _reach(self) -> None:
        if not self.reachable:
            raise StoreUnavailable("the in-memory store is switched off")

    def load(self, collection: str) -> dict[str, Any]:
        self._reach()
        return {key: json.loads(doc) for key, doc in self.documents.get(collection, {}).items()}

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_MemoryTransaction]:
        self._reach()
        tx = _MemoryTransaction(self)
        yield tx  # an exception leaves the store as it was
        self._reach()
        self.documents, self.claim_rows, self.tombstones, self.holds = tx._documents, tx._claims, tx._tombstones, tx._holds

    def write(self, puts: Iterable[Put] = (), deletes: Iterable[Delete] = ()) -> None:
        with self.transaction() as tx:
            tx.write(puts, deletes)

    def claims(self) -> list[Claim]:
        return sorted(self.claim_rows.values(), key=lambda c: (c.hotkey, c.executor_class, c.slot))

    def page(self, collection: str, before: str | None, limit: int) -> list[tuple[str, Any]]:
        self._reach()
        keys = sorted((k for k in self.documents.get(collection, {}) if before is None or k < before), reverse=True)
        return [(k, json.loads(self.documents[collection][k])) for k in keys[:limit]]

    def page_up(self, collection: str, after: str, limit: int) -> list[tuple[str, Any]]:
        self._reach()
        keys = sorted(k for k in self.documents.get(collection, {}) if k > after)
        return [(k, json.loads(self.documents[collection][k])) for k in keys[:limit]]

    def delete_before(self, collection: str, key: str) -> int:
        self._reach()
        old = [k for k in self.documents.get(collection, {}) if k < key]
        for k in old:
            del self.documents[collection][k]
        return len(old)

    def forget_tombstones(self, now: float) -> int:
        self._reach()
        kept = {u: t for u, t in self.tombstones.items() if t.holds(now)}
        forgotten, self.tombstones = len(self.tombstones) - len(kept), kept
        return forgotten
