"""The database's word on a miner's allowance, asked before a pick books that miner. Pure.

A picker ranks miners by the allowance its own book says is left: the fast
path. Another picker on the same database (the second cluster of a NewCluster
upgrade) holds and spends the same allowances, which this book does not see.
So once a pick has chosen a miner, `confirm` asks the store, under the lock on
the miner's allowance row (`Transaction.get`, held until the booking commits):
the row's remaining seconds as stored, minus every hold that counts, any
picker's (the job's own excepted, it is about to be replaced), summed by the
database. Not enough, and the pick takes the next candidate, as when a slot
claim fails.

Either way the book learns what the store said: the row's remaining seconds
and, when the store's sum is not the book's, the miner's hold rows (the other
pickers' jobs, and its own that another picker started or ended), so its
ranking stops offering a miner the store would refuse. Rows are read only
then: a pick's cost does not grow with the bookings in flight. Holds it learnt can go stale in turn (their jobs started or
ended elsewhere): when the book finds no miner with enough allowance,
`relearn` makes all its holds the store's, and the pick looks again if that
changed anything, so the book does not refuse what the store would confirm.
When it finds every miner with enough allowance busy, a miner it counts
short on stale holds is not among them: then it asks the store's sum for
each miner with a free slot (by the book), and learns the holds of those
whose sum is not the book's; a cluster whose miners are all full pays nothing.
"""

import math
from collections import defaultdict
from collections.abc import Iterable

from contracts.jobs import JobSpec
from contracts.refusals import Refusal, RefusalKind
from organism.jobs.answers import current_block
from organism.jobs.book import MinerBook
from organism.jobs.documents import place
from organism.jobs.filters import allowance_suffices
from organism.state.store import AllowanceHold, Transaction


def confirm(book: MinerBook, tx: Transaction, spec: JobSpec, hotkey: str, block: int | None, now: float) -> bool:
    """Whether the store leaves `hotkey` enough allowance for the job (always, when routing checks none)."""
    row = book.allowance_rows(block).get(hotkey) if block is not None else None
    if row is None or not book.config.DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING:
        return True
    stored = tx.get(*place(row))
    if stored is not None and stored["remaining"] != row.remaining:
        row.remaining = stored["remaining"]
        book.changed.add(hotkey)
    cycle = (row.cycle_start, row.cycle_stop)
    held = tx.allowance_held_sum(hotkey, cycle, now, spec.job_uuid)
    if not math.isclose(held, book.holds.held_except(hotkey, cycle, now, spec.job_uuid), abs_tol=1e-6):
        _learn(book, [hotkey], [hold for hold in tx.allowance_held(hotkey, cycle, now) if hold.job_uuid != spec.job_uuid])
    return allowance_suffices(row.remaining - held, spec.executor_seconds)


def relearn(book: MinerBook, tx: Transaction, refusal: Refusal, now: float, executor_class: str = "") -> bool:
    """After the book found no miner with enough allowance (all its holds), or every one with enough
    busy (the holds of `executor_class`'s miners with a free slot): make them the store's; whether that
    changed anything (then the pick is worth trying again)."""
    if refusal.kind is RefusalKind.ALL_MINERS_BUSY:
        stale = _stale_with_a_free_slot(book, tx, executor_class, now)
        return _learn(book, [hotkey for hotkey, _ in stale],
                      [hold for hotkey, cycle in stale for hold in tx.allowance_held(hotkey, cycle, now)])
    if refusal.kind is not RefusalKind.NO_MINER_WITH_ENOUGH_ALLOWANCE:
        return False
    holds = tx.live_allowance_holds(now)
    return _learn(book, {hotkey for hotkey, _ in book.holds.jobs()} | {hold.hotkey for hold in holds}, holds)


def _stale_with_a_free_slot(book: MinerBook, tx: Transaction, executor_class: str, now: float) -> list[tuple[str, tuple[int, int]]]:
    """The miners of the class with a free slot by the book whose holds the store sums otherwise, with their cycle."""
    block = current_block(book, now)
    rows = book.allowance_rows(block) if block is not None else {}
    stale = []
    for hotkey, manifest in book.manifests.get(executor_class, {}).items():
        row = rows.get(hotkey)
        if row is None or not book.has_free_slot(hotkey, executor_class, manifest.online_executor_count, now):
            continue
        cycle = (row.cycle_start, row.cycle_stop)
        if not math.isclose(tx.allowance_held_sum(hotkey, cycle, now, ""), book.holds.held_except(hotkey, cycle, now, ""),
                            abs_tol=1e-6):
            stale.append((hotkey, cycle))
    return stale


def _learn(book: MinerBook, hotkeys: Iterable[str], holds: list[AllowanceHold]) -> bool:
    """Make the book's holds on these miners the store's `holds`; whether any changed."""
    by_miner: dict[str, dict[str, AllowanceHold]] = defaultdict(dict)
    for hold in holds:
        by_miner[hold.hotkey][hold.job_uuid] = hold
    changed: set[str] = set()
    for hotkey in hotkeys:
        stored = by_miner.get(hotkey, {})
        for gone in [job_uuid for job_uuid in book.holds.jobs_of(hotkey) if job_uuid not in stored]:
            book.holds.release(hotkey, gone)  # started, ended or lapsed by another picker
            changed.add(hotkey)
        for hold in stored.values():
            if not book.holds.holds(hotkey, hold.job_uuid):
                book.holds.hold(hotkey, hold.job_uuid, (hold.cycle_start, hold.cycle_stop), hold.seconds, hold.until)
                changed.add(hotkey)
    book.changed |= changed
    return bool(changed)
