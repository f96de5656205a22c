"""What the miner book forgets, and when. Pure.

The picker prunes every `PRUNE_EVERY_S`, so that a pick stays proportional to
live bookings: lapsed reservations leave at once; jobs, receipts and
incidents stay for `RETENTION_S` (the jobs view and a miner's history show
them), then leave memory and the store; allowance rows of a cycle stay for
`RETENTION_S` worth of blocks after it ended (no pick reads them once it has).
A finished receipt leaves a tombstone behind (`tombstones`), so its uuid is
still never routed again.
"""

from contracts.chain import BLOCK_TIME_S
from organism.jobs.book import MinerBook
from organism.jobs.records import Writes
from organism.jobs.tombstones import bury

RETENTION_S = 24 * 3600.0
PRUNE_EVERY_S = 30.0


def prune(book: MinerBook, now: float, retention_s: float = RETENTION_S) -> Writes:
    """Forget what can no longer hold a slot: expired reservations leave the store;
    jobs that hold no slot leave the per-slot index (a later receipt puts them back);
    jobs, receipts and incidents idle for `retention_s`, and allowance rows of cycles that ended
    as long ago, leave memory and the store, a finished receipt for a tombstone."""
    dropped: list = []
    for job_uuid in [u for u, r in book.reservations.items() if not r.active(now)]:
        dropped.append(book.reservations.pop(job_uuid))
    for slot, job_uuids in book.jobs_by_slot.items():
        job_uuids.intersection_update({u for u in job_uuids if book.holds_slot(u, slot, now)})
    book.holds.lapse_all(now)
    horizon = now - retention_s
    dropped += book.lapses.take(horizon, book.started, book.finished)
    idle = [book.jobs[u] for _, u in book.order.irange(maximum=(horizon,))  # routed before the horizon, by index
            if u not in book.reservations and u not in book.started and u not in book.finished]
    for job in idle:
        book.unbook_job(job)
        dropped.append(job)
    for kept in book.incidents.values():
        for incident in [i for i in kept if i.at < horizon]:
            kept.remove(incident)
            dropped.append(incident)
    if book.chain is not None:
        dropped += book.forget_cycles_before(book.chain.current_block(now) - int(retention_s // BLOCK_TIME_S)).dropped
    return Writes(saved=bury(dropped), dropped=dropped)
