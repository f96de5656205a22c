"""What the read routes show of a MinerBook, paged. Pure.

Jobs with their state and history; miners with their slots, allowance,
holds and incidents. Jobs come newest first (by when they were last routed), miners by hotkey; a
page ends with the cursor of the next one (None on the last page).
"""

from contracts.jobs import JobCursor, JobState, JobView, Manifest, MinerStatus
from organism.jobs.book import MinerBook
from organism.jobs.records import RoutedJob


def job_state(book: MinerBook, job: RoutedJob, now: float) -> JobState:
    """As recorded, except a reservation that lapsed without a start: expired."""
    state = JobState(job.state)
    reservation = book.reservations.get(job.job_uuid)
    if state is JobState.RESERVED and (reservation is None or not reservation.active(now)):
        return JobState.EXPIRED
    return state


def job_view(book: MinerBook, job: RoutedJob, now: float) -> JobView:
    state = job_state(book, job, now)
    reservation = book.reservations.get(job.job_uuid) if state is JobState.RESERVED else None
    miner = book.miners.get(job.hotkey)
    return JobView(
        job.job_uuid, job.owner, state.value, job.hotkey, miner and miner.contact(),
        job.executor_class, job.executor_seconds, job.routed_at,
        reservation.expires_at if reservation else None,
        reservation is not None and book.holds.holds(job.hotkey, job.job_uuid),
        job.allowance_deducted, tuple(job.declined_by), tuple(job.history),
    )


def jobs_page(
    book: MinerBook, now: float, limit: int, before: JobCursor | None = None,
    state: JobState | None = None, hotkey: str | None = None,
) -> tuple[list[JobView], JobCursor | None]:
    """Up to `limit` jobs routed before `before`, newest first, in `state` and on `hotkey` if given."""
    keys = book.order.irange(maximum=before, inclusive=(True, False), reverse=True) if before else reversed(book.order)
    page: list[JobView] = []
    for _, job_uuid in keys:
        job = book.jobs[job_uuid]
        if hotkey is not None and job.hotkey != hotkey:
            continue
        view = job_view(book, job, now)
        if state is not None and view.state != state.value:
            continue
        if len(page) == limit:
            return page, (page[-1].routed_at, page[-1].job_uuid)
        page.append(view)
    return page, None


def miner_status(book: MinerBook, hotkey: str, now: float, block: int | None) -> MinerStatus:
    """One registered miner: its active blacklist entry, latest manifests, allowance row of the
    current cycle with what reservations hold of it, slots per class, and incidents."""
    manifests: dict[str, Manifest] = {c: by[hotkey] for c, by in book.manifests.items() if hotkey in by}
    ongoing = {c: book.ongoing_jobs(hotkey, c, now) for c in manifests}
    row = book.allowance_rows(block).get(hotkey) if block is not None else None
    entry = book.blacklist.get(hotkey)
    return MinerStatus(
        miner=book.miners[hotkey],
        blacklist=entry if entry and entry.active(now) else None,
        manifests=manifests,
        allowance=row,
        ongoing_jobs=ongoing,
        free_slots={c: max(0, m.online_executor_count - ongoing[c]) for c, m in manifests.items()},
        held_seconds=book.held_seconds(hotkey, (row.cycle_start, row.cycle_stop), now) if row else 0.0,
        incidents=tuple(book.incidents.get(hotkey, ())),
        recent_incidents=len(book.recent_incidents(hotkey, now)),
    )


def miners_page(
    book: MinerBook, now: float, block: int | None, limit: int, after: str | None = None,
    executor_class: str | None = None, blacklisted: bool | None = None,
) -> tuple[list[MinerStatus], str | None]:
    """Up to `limit` miners with a hotkey after `after`, in hotkey order; only those with a manifest
    of `executor_class`, and only those (not) blacklisted now, if given."""
    page: list[MinerStatus] = []
    for hotkey in sorted(h for h in book.miners if after is None or h > after):
        if executor_class is not None and hotkey not in book.manifests.get(executor_class, {}):
            continue
        status = miner_status(book, hotkey, now, block)
        if blacklisted is not None and (status.blacklist is not None) != blacklisted:
            continue
        if len(page) == limit:
            return page, page[-1].miner.hotkey
        page.append(status)
    return page, None
