"""The database's word on miners' slots, asked when the book finds every candidate busy. Pure.

A picker counts a miner's ongoing jobs from its book. Another picker on the
same database (the other cluster of a NewCluster upgrade) may have ended or
started jobs this book still counts (their release or receipt was sent
there), and a slot claim that failed leaves a miner remembered full until the
first claim it saw can lapse (`MinerBook.full_until`, an hour with long
reservations): the book would answer `AllMinersBusy` while the store has
free slots, which one picker never does.

So when the book finds every candidate busy, `relearn` asks the store how
many live claims each miner of the job's class has (one query), and only
about a miner the book counts full while the store has room does it read
that miner's claims, the truth of who holds a slot: a job the book counts
there without a live claim is read again from the store (unlocked: only
learnt, nothing is decided about it, and no lock is taken that another
picker's call may hold), and the miner is no longer remembered full. The
pick looks again if that freed anything (`booking.route`'s second look), and
claims its slot as always. When every slot really is taken, a refusal costs
one more query.
"""

from contracts.refusals import Refusal, RefusalKind
from organism.jobs.book import MinerBook
from organism.jobs.documents import reload_job
from organism.state.store import Transaction


def relearn(book: MinerBook, tx: Transaction, refusal: Refusal, executor_class: str, now: float) -> bool:
    """After the book found every candidate busy: make its count of the full miners' slots the store's;
    whether that freed any (then the pick is worth trying again)."""
    if refusal.kind is not RefusalKind.ALL_MINERS_BUSY:
        return False
    full = []  # (hotkey, online, the jobs the book counts on it, remembered full)
    for hotkey, manifest in book.manifests.get(executor_class, {}).items():
        slot, online = (hotkey, executor_class), manifest.online_executor_count
        holding = [u for u in book.jobs_by_slot.get(slot, ()) if book.holds_slot(u, slot, now)]
        remembered = book.full_until.get(slot, 0.0) > now
        if remembered or len(holding) >= online:
            full.append((hotkey, online, holding, remembered))
    counts = tx.live_claim_counts(executor_class, now) if full else {}
    freed = False
    for hotkey, online, holding, remembered in full:
        if counts.get(hotkey, 0) >= online:
            continue  # the store agrees: every slot taken
        claimed = {claim.job_uuid for claim in tx.claims_of(hotkey, executor_class) if claim.held_until > now}
        still = 0  # the jobs the book counts on the miner once the unclaimed ones are read again
        for job_uuid in holding:
            if job_uuid not in claimed:  # started, ended or lapsed through another picker
                reload_job(tx, book, job_uuid, lock=False)
            still += book.holds_slot(job_uuid, (hotkey, executor_class), now)
        if remembered:
            book.full_until.pop((hotkey, executor_class), None)
        # a job started after its claim lapsed still runs there: only a slot the book now counts free is worth a look
        freed |= still < min(len(holding), online) or (remembered and still < online)
        book.changed.add(hotkey)
    return freed
