"""The job's own checks, before any miner is judged: named pre-filters, in order. Pure.

Like the miner filters of `filters`, each pre-filter is a name and a check;
it judges the job, not a miner, and answers `None` (go on), a `Refusal`, or
a `Selection` that bypasses everything after it:

0. `owned`: a uuid routed before is its owner's: another caller (not an admin) is refused;
1. `replay`: a uuid whose booking still holds a slot answers the same miner, booking nothing;
2. `not_finished`: a uuid with a finished receipt is refused (a new booking would never be freed;
   once the book forgets the receipt, its tombstone refuses it: `tombstones`);
3. `known_executor_class`: the class must be in the dynamic config;
4. `debug_miner`: `DEBUG_MINER_KEY` set routes there, no checks, no reservation;
5. `trusted_miner`: `on_trusted_miner` routes to the configured trusted miner;
6. `block_known`, 7. `block_fresh`: the current block is reported, and not too long ago;
8. `cycle_time`: only when cross-cycle jobs are not allowed, the time left in the cycle must
   cover the job's required time (equal passes).
"""

from collections.abc import Callable
from dataclasses import dataclass

from contracts.chain import Cycle, cycle_containing
from contracts.dynamic_config import DynamicConfig
from contracts.jobs import Explain, JobSpec
from contracts.refusals import FieldProblem, Refusal, RefusalKind, invalid
from organism.jobs.book import MinerBook
from organism.jobs.records import RoutedJob, Selection


def required_seconds(job: JobSpec, config: DynamicConfig) -> int:
    return (
        config.DYNAMIC_ORGANIC_JOB_ALLOWED_LEEWAY_TIME
        + config.DYNAMIC_EXECUTOR_RESERVATION_TIME_LIMIT
        + config.DYNAMIC_EXECUTOR_STARTUP_TIME_LIMIT
        + (config.spin_up_s(job.executor_class) or 0)
        + job.executor_seconds
    )


def unknown_class(config: DynamicConfig, executor_class: str, field_name: str) -> Refusal | None:
    """A refusal naming `field_name` when the dynamic config has no such executor class."""
    if config.spin_up_s(executor_class) is not None:
        return None
    return invalid([FieldProblem(field_name, f"unknown executor class; configured: {', '.join(sorted(config.EXECUTOR_CLASSES))}")])


def may_act_on(job: RoutedJob, caller: str, caller_is_admin: bool) -> Refusal | None:
    """A job is its owner's: only the service that routed it, or an admin, may route it again or end it
    (a job routed before owners were kept: an admin only)."""
    if caller_is_admin or (job.owner and caller == job.owner):
        return None
    return Refusal(RefusalKind.NOT_JOB_OWNER, f"job {job.job_uuid} belongs to another caller",
                   {"job_uuid": job.job_uuid})


@dataclass(slots=True)
class JobContext:
    """What every pre-filter reads; `explain` collects what they found."""

    book: MinerBook
    job: JobSpec
    block: int | None
    netuid: int
    now: float
    explain: Explain
    required_s: int

    @property
    def cycle(self) -> Cycle:
        return cycle_containing(self.block, self.netuid)


Verdict = Selection | Refusal | None


@dataclass(frozen=True, slots=True)
class PreFilter:
    name: str
    check: Callable[[JobContext], Verdict]


def owned(context: JobContext) -> Verdict:
    earlier = context.book.jobs.get(context.job.job_uuid)
    return None if earlier is None else may_act_on(earlier, context.job.caller, context.job.caller_is_admin)


def replay(context: JobContext) -> Verdict:
    booked = context.book.active_booking(context.job.job_uuid, context.now)
    if booked is None:
        return None
    return Selection(booked.hotkey, booked.reason, False, context.explain, booked.required_seconds, replayed=True)


def already_finished(explain: Explain) -> Refusal:
    """The answer to routing a uuid that finished (its receipt in the book, or its tombstone in the store)."""
    return Refusal(RefusalKind.JOB_ALREADY_FINISHED, "this job uuid already has a finished receipt", {}, explain)


def not_finished(context: JobContext) -> Verdict:
    return already_finished(context.explain) if context.job.job_uuid in context.book.finished else None


def known_executor_class(context: JobContext) -> Verdict:
    return unknown_class(context.book.config, context.job.executor_class, "executor_class")


def debug_miner(context: JobContext) -> Verdict:
    hotkey = context.book.config.DEBUG_MINER_KEY
    return Selection(hotkey, "debug_miner", False, context.explain, context.required_s) if hotkey else None


def trusted_miner(context: JobContext) -> Verdict:
    if not context.job.on_trusted_miner:
        return None
    hotkey = context.book.config.TRUSTED_MINER_HOTKEY
    if not hotkey:
        message = "the job asks for the trusted miner and none is configured"
        return Refusal(RefusalKind.NO_TRUSTED_MINER, message, {}, context.explain)
    return Selection(hotkey, "trusted_miner", False, context.explain, context.required_s)


def block_known(context: JobContext) -> Verdict:
    return Refusal(RefusalKind.CURRENT_BLOCK_UNKNOWN, "no block reported yet", {}, context.explain) if context.block is None else None


def block_fresh(context: JobContext) -> Verdict:
    chain, limit = context.book.chain, context.book.config.DYNAMIC_MAX_BLOCK_REPORT_AGE_SECONDS
    if chain is None or not limit or (age := context.now - chain.reported_at) <= limit:
        return None
    message = f"the last block report is {age:.0f} s old, older than the {limit} s limit"
    details = {"reported_block": chain.block, "reported_at": chain.reported_at, "max_age_s": limit}
    return Refusal(RefusalKind.CURRENT_BLOCK_STALE, message, details, context.explain)


def cycle_time(context: JobContext) -> Verdict:
    explain = context.explain
    explain.remaining_s, explain.required_s = context.cycle.seconds_left(context.block), context.required_s
    if context.book.config.DYNAMIC_ALLOW_CROSS_CYCLE_ORGANIC_JOBS or explain.remaining_s >= explain.required_s:
        return None
    return Refusal(
        RefusalKind.NOT_ENOUGH_TIME_IN_CYCLE,
        f"{explain.remaining_s} s left in the cycle, the job needs {explain.required_s} s",
        {"remaining_seconds": explain.remaining_s, "required_seconds": explain.required_s},
        explain,
    )


PRE_FILTERS: tuple[PreFilter, ...] = tuple(
    PreFilter(check.__name__, check)
    for check in (owned, replay, not_finished, known_executor_class, debug_miner, trusted_miner, block_known, block_fresh,
                  cycle_time)
)
