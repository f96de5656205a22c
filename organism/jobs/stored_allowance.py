"""The database's word on a miner's allowance, asked before a pick books that miner. Pure.

A picker ranks miners by the allowance its own book says is left: the fast
path. Another picker on the same database (the second cluster of a NewCluster
upgrade) holds and spends the same allowances, which this book does not see.
So once a pick has chosen a miner, `confirm` asks the store, under the lock on
the miner's allowance row (`Transaction.get`, held until the booking commits):
the row's remaining seconds as stored, minus every hold that counts, any
picker's (the job's own excepted, it is about to be replaced). Not enough, and
the pick takes the next candidate, as when a slot claim fails.

Either way the book learns what the store said: the row's remaining seconds,
and the other pickers' holds (each lapses in the book with its reservation),
so its ranking stops offering a miner the store would refuse.
"""

from contracts.jobs import JobSpec
from organism.jobs.book import MinerBook
from organism.jobs.documents import place
from organism.jobs.filters import allowance_suffices
from organism.state.store import Transaction


def confirm(book: MinerBook, tx: Transaction, spec: JobSpec, hotkey: str, block: int | None, now: float) -> bool:
    """Whether the store leaves `hotkey` enough allowance for the job (always, when routing checks none)."""
    row = book.allowance_rows(block).get(hotkey) if block is not None else None
    if row is None or not book.config.DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING:
        return True
    cycle = (row.cycle_start, row.cycle_stop)
    stored = tx.get(*place(row))
    holds = [hold for hold in tx.allowance_held(hotkey, cycle, now) if hold.job_uuid != spec.job_uuid]
    if stored is not None and stored["remaining"] != row.remaining:
        row.remaining = stored["remaining"]
        book.changed.add(hotkey)
    for hold in holds:
        if not book.holds.holds(hotkey, hold.job_uuid):
            book.holds.hold(hotkey, hold.job_uuid, cycle, hold.seconds, hold.until)
            book.changed.add(hotkey)
    return allowance_suffices(row.remaining - sum(hold.seconds for hold in holds), spec.executor_seconds)
