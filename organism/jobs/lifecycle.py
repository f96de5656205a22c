"""What a pick, a receipt or a release does to a job, decided over a MinerBook. Pure.

A pick books the job (`book_job`): a reservation on the selected miner, and
its executor-seconds held against that miner's allowance for the cycle of
the current block, unless holding is off in the dynamic config.

Each decision is a `Change` (`outcomes`): the answer, the documents to
write, and what happens to the job's slot claim in the store (released, or
held until a time). The picker actor applies it in one transaction; a
refusal changes nothing.

- A receipt must name a registered miner and a configured class, and for a
  job routed here the miner and class it was routed to. `started` makes it running, `finished` finished; `declined` and
  `failed` end it like a release with that reason.
- An *excused* decline records no incident (and leaves the miner free to be
  picked for the job again): the miner was busy with other work, which it
  proves with receipts: a started receipt of a job not routed here, of the
  same class, unfinished and counting at the time of the decline.
- A release (`declined`, `failed`, `timeout`, `cancelled`) of a job that has
  not ended frees its slot and its held allowance at once, records the
  miner's incident (all but `cancelled`) and keeps the miner from a new pick
  of the same uuid. Releasing an ended job changes nothing and answers its
  state: a release is idempotent. Only the job's owner (the service that
  routed it) or an admin may release it (`may_act_on`).
- A `declined` or `failed` receipt of a job routed elsewhere is a fact, not
  an incident: the miner's record changes only for jobs routed here.
"""

from contracts.audit import AuditStamp
from contracts.jobs import IncidentKind, JobSpec, JobView, Receipt
from contracts.refusals import Refusal, RefusalKind
from organism.jobs.book import MinerBook
from organism.jobs.facts import unknown_miners
from organism.jobs.prefilters import may_act_on, unknown_class
from organism.jobs.records import ENDED, ENDINGS, Change, Reservation, RoutedJob, Selection, Writes
from organism.jobs.views import job_state, job_view

UNROUTED_RECEIPT_TTL_S = 600.0  # how long a started receipt of a job not routed here holds a slot


def book_job(book: MinerBook, spec: JobSpec, outcome: Selection, now: float, block: int | None) -> tuple[float, Writes]:
    """Reserve the selected miner for the job: the reservation's expiry, and what to write."""
    config = book.config
    expires_at = now + config.DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS
    reservation = Reservation(spec.job_uuid, outcome.hotkey, spec.executor_class, now, expires_at)
    routed = RoutedJob(spec.job_uuid, outcome.hotkey, spec.executor_class, spec.executor_seconds,
                       outcome.required_seconds, outcome.reason, routed_at=now, owner=spec.caller)
    row = book.allowance_rows(block).get(outcome.hotkey) if block is not None else None
    hold = (row.cycle_start, row.cycle_stop) if row is not None and config.DYNAMIC_HOLD_ALLOWANCE_WHILE_ROUTING else None
    return expires_at, book.reserve(reservation, routed, hold)


def unknown_job(job_uuid: str) -> Refusal:
    return Refusal(RefusalKind.UNKNOWN_JOB, f"job {job_uuid} was never routed here", {"job_uuid": job_uuid})


def receipt(
    book: MinerBook, kind: str, job_uuid: str, hotkey: str, executor_class: str, timestamp: float,
    ttl_s: float | None, now: float, block: int | None, reporter: AuditStamp,
) -> Change | Refusal:
    if hotkey not in book.miners:
        return unknown_miners([hotkey])
    if (unknown := unknown_class(book.config, executor_class, "executor_class")) is not None:
        return unknown
    routed = book.jobs.get(job_uuid)
    if routed is not None and (routed.hotkey, routed.executor_class) != (hotkey, executor_class):
        return Refusal(
            RefusalKind.RECEIPT_MISMATCH,
            f"job {routed.job_uuid} was routed to {routed.hotkey} for {routed.executor_class}",
            {"hotkey": routed.hotkey, "executor_class": routed.executor_class},
        )
    default_ttl = routed.required_seconds if routed else UNROUTED_RECEIPT_TTL_S
    # a receipt from the future would hold a slot forever
    record = Receipt(kind, job_uuid, hotkey, executor_class, min(timestamp, now), ttl_s or default_ttl)
    if kind in ENDINGS:
        if routed is not None and job_state(book, routed, now) in ENDED:
            return Change(record)  # ended already (a retried receipt, or released first): as a release, idempotent
        state, incident = ENDINGS[kind]
        if routed is None or _excused(book, kind, hotkey, executor_class, job_uuid, record.timestamp):
            incident = None  # a fact about a job routed elsewhere, or a decline the miner was busy for
        writes = book.end_job(job_uuid, state, record.timestamp, kind, incident, (hotkey, executor_class), reporter)
        return Change(record, writes, release_claim=True)
    writes = book.record_receipt(record, block)
    if kind == "finished":
        return Change(record, writes, release_claim=True)  # its slot is free
    return Change(record, writes, hold_claim_until=record.timestamp + record.ttl_s)  # the receipt holds it


def release(book: MinerBook, job_uuid: str, reason: str, now: float, caller: AuditStamp) -> Change | Refusal:
    job: RoutedJob | None = book.jobs.get(job_uuid)
    if job is None:
        return unknown_job(job_uuid)
    if refused := may_act_on(job, caller.subject, caller.role == "admin"):
        return refused
    if job_state(book, job, now) in ENDED:
        return Change(job_view(book, job, now))
    state, incident = ENDINGS[reason]
    if _excused(book, reason, job.hotkey, job.executor_class, job_uuid, now):
        incident = None
    writes = book.end_job(job_uuid, state, now, reason, incident, (job.hotkey, job.executor_class), caller)
    return Change(job_view(book, job, now), writes, release_claim=True)


def _excused(book: MinerBook, ending: str, hotkey: str, executor_class: str, job_uuid: str, at: float) -> bool:
    """A decline the miner proves it was busy for: a started receipt, of the same class, of work not routed
    here (another validator's job), unfinished and counting at the time of the decline."""
    if ending != IncidentKind.DECLINED:
        return False
    for other in book.jobs_by_slot.get((hotkey, executor_class), ()):
        started = book.started.get(other)
        if (other != job_uuid and other not in book.jobs and other not in book.finished and started is not None
                and started.timestamp <= at and started.counts_at(at)):
            return True
    return False


def view_of(book: MinerBook, job_uuid: str, now: float) -> JobView | Refusal:
    job = book.jobs.get(job_uuid)
    return unknown_job(job_uuid) if job is None else job_view(book, job, now)
