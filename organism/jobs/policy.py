"""Miner selection for a job: the seed's steps over a book snapshot. Pure.

In order: a job whose booking still holds a slot is replayed, a finished one
refused; its executor class must be configured; the debug miner, then the
trusted miner, bypass every check; the current block must be known and its
report not older than the configured limit; the time left in the cycle is
checked only when cross-cycle jobs are not allowed (equal passes); then the
named filters and scorers of `filters` (candidates, ranking, then the first
ranked candidate that did not decline this job, has enough collateral and a
free slot is selected).

Refusals are values (`Refusal`) with the counts of `explain`, so the caller
learns exactly why: a blacklist, a stale manifest, allowance, collateral and
busy slots are told apart.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from organism.jobs.book import MinerBook
from organism.jobs.candidate_index import STATIC_FILTERS, CandidateIndex, static_rejections
from organism.jobs.chain import Cycle, cycle_containing
from organism.jobs.dynamic_config import DynamicConfig
from organism.jobs.filters import (
    ALLOWANCE,
    CANDIDATE_FILTERS,
    COLLATERAL,
    FILTER_NAMES,
    FREE_SLOT,
    FRESH_MANIFEST,
    NOT_DECLINED,
    SCORERS,
    SLOT_FILTERS,
    Candidate,
    Filter,
    PickContext,
    rank_key,
)
from organism.jobs.outcomes import Explain, Refusal, RefusalKind
from organism.jobs.records import JobSpec


@dataclass(frozen=True, slots=True)
class Selection:
    hotkey: str
    reason: str  # selected | debug_miner | trusted_miner
    reserve: bool
    explain: Explain
    replayed: bool = False


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
    problem = f"unknown executor class; configured: {', '.join(sorted(config.EXECUTOR_CLASSES))}"
    return Refusal(RefusalKind.INVALID, f"{field_name}: {problem}", [{"field": field_name, "problem": problem}])


def pick(
    book: MinerBook, job: JobSpec, block: int | None, netuid: int, now: float, index: CandidateIndex | None = None
) -> Selection | Refusal:
    """Route `job`. With an `index`, the candidate filters come from it (the fast path of real
    picks); without, every filter runs over every miner and `explain` says why for each one."""
    explain = Explain(miners=len(book.miners), rejected=dict.fromkeys(FILTER_NAMES, 0))
    config = book.config
    if (booked := book.active_booking(job.job_uuid, now)) is not None:
        return Selection(booked.hotkey, booked.reason, False, explain, replayed=True)
    if job.job_uuid in book.finished:  # routing it again would book a slot nothing ever frees
        return Refusal(RefusalKind.JOB_ALREADY_FINISHED, "this job uuid already has a finished receipt", {}, explain)
    if (unknown := unknown_class(config, job.executor_class, "executor_class")) is not None:
        return unknown
    if config.DEBUG_MINER_KEY:
        return Selection(config.DEBUG_MINER_KEY, "debug_miner", False, explain)
    if job.on_trusted_miner:
        if not config.TRUSTED_MINER_HOTKEY:
            message = "the job asks for the trusted miner and none is configured"
            return Refusal(RefusalKind.NO_TRUSTED_MINER, message, {}, explain)
        return Selection(config.TRUSTED_MINER_HOTKEY, "trusted_miner", False, explain)
    if block is None:
        return Refusal(RefusalKind.CURRENT_BLOCK_UNKNOWN, "no block reported yet", {}, explain)
    limit = config.DYNAMIC_MAX_BLOCK_REPORT_AGE_SECONDS
    if book.chain is not None and limit and (age := now - book.chain.reported_at) > limit:
        message = f"the last block report is {age:.0f} s old, older than the {limit} s limit"
        details = {"reported_block": book.chain.block, "reported_at": book.chain.reported_at, "max_age_s": limit}
        return Refusal(RefusalKind.CURRENT_BLOCK_STALE, message, details, explain)

    cycle = cycle_containing(block, netuid)
    explain.remaining_s = cycle.seconds_left(block)
    explain.required_s = required_seconds(job, config)
    if not config.DYNAMIC_ALLOW_CROSS_CYCLE_ORGANIC_JOBS and explain.remaining_s < explain.required_s:
        return Refusal(
            RefusalKind.NOT_ENOUGH_TIME_IN_CYCLE,
            f"{explain.remaining_s} s left in the cycle, the job needs {explain.required_s} s",
            {"remaining_seconds": explain.remaining_s, "required_seconds": explain.required_s},
            explain,
        )

    if index is not None:
        return _select_by_index(book, job, block, now, cycle, explain, index)
    context = PickContext(book, job, now, book.allowance_rows(block))
    manifests = book.manifests.get(job.executor_class, {})
    explain.rejected[FRESH_MANIFEST] = len(book.miners) - len(manifests)  # none at all for this class
    candidates = [Candidate(manifest) for manifest in manifests.values()]
    for stage in CANDIDATE_FILTERS:
        candidates = [c for c in candidates if _passes(stage, c, context, explain)]
        if not candidates:
            return _refusal(stage.refusal, explain, job, cycle, book)

    explain.candidates = len(candidates)
    keys = {c.hotkey: rank_key(c, context.allowance_rows[c.hotkey], context) for c in candidates}
    candidates.sort(key=lambda c: keys[c.hotkey])
    explain.ranking = [c.hotkey for c in candidates]
    explain.scores = {c.hotkey: dict(zip((s.name for s in SCORERS), keys[c.hotkey], strict=False)) for c in candidates}
    return _first_with_a_slot(candidates, context, explain, cycle)


def _select_by_index(
    book: MinerBook, job: JobSpec, block: int, now: float, cycle: Cycle, explain: Explain, index: CandidateIndex
) -> Selection | Refusal:
    ranked = index.candidates(book, job.executor_class, block, now)
    explain.rejected.update(static_rejections(ranked, book, job.executor_class))
    survivors = len(ranked.without_row) + len(ranked.ranked)
    if not survivors:
        return _refusal(STATIC_FILTERS[0].refusal, explain, job, cycle, book)
    checked = book.config.DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING
    explain.rejected[ALLOWANCE] = ranked.allowance_rejections(job.executor_seconds, checked)
    explain.candidates = survivors - explain.rejected[ALLOWANCE]
    if not explain.candidates:
        return _refusal(RefusalKind.NO_MINER_WITH_ENOUGH_ALLOWANCE, explain, job, cycle, book)
    manifests = book.manifests[job.executor_class]
    enough = (
        Candidate(manifests[key[-1]]) for key, remaining in ranked.ranked
        if not checked or remaining > job.executor_seconds
    )
    return _first_with_a_slot(enough, PickContext(book, job, now, {}), explain, cycle, detailed=False)


def _first_with_a_slot(
    candidates: Iterable[Candidate], context: PickContext, explain: Explain, cycle: Cycle, detailed: bool = True
) -> Selection | Refusal:
    """The first ranked candidate that passes every slot filter is selected."""
    refusals: set[RefusalKind] = set()
    for candidate in candidates:
        failed = next(
            (stage for stage in SLOT_FILTERS if not _passes(stage, candidate, context, explain, detailed)), None
        )
        if failed is None:
            return Selection(candidate.hotkey, "selected", True, explain)
        refusals.add(failed.refusal)
    only = refusals.pop() if len(refusals) == 1 else RefusalKind.ALL_MINERS_BUSY
    return _refusal(only, explain, context.job, cycle, context.book)


def _passes(stage: Filter, candidate: Candidate, context: PickContext, explain: Explain, detailed: bool = True) -> bool:
    rejection = stage.check(candidate, context)
    if rejection is None:
        return True
    explain.rejected[stage.name] += 1
    if detailed:  # each miner's reason: for dry runs, which take the reference path
        explain.reasons[candidate.hotkey] = f"{stage.name}: {rejection.reason}"
    return False


def _refusal(kind: RefusalKind, explain: Explain, job: JobSpec, cycle: Cycle, book: MinerBook) -> Refusal:
    if kind is RefusalKind.NO_MINER_FOR_EXECUTOR_TYPE:
        message = f"no miner that is not blacklisted has a fresh manifest with online executors of {job.executor_class}"
        details = {"executor_class": job.executor_class, "rejected": dict(explain.rejected)}
    elif kind is RefusalKind.NO_MINER_WITH_ENOUGH_ALLOWANCE:
        message = (
            f"no candidate has more than {job.executor_seconds} s of allowance left"
            f" in cycle [{cycle.start}, {cycle.stop})"
        )
        details = {"executor_seconds": job.executor_seconds, "cycle": {"start": cycle.start, "stop": cycle.stop}}
    elif kind is RefusalKind.ALL_CANDIDATES_DECLINED:
        message = "every candidate declined, failed or timed out on this job before"
        details = {"declined": explain.rejected[NOT_DECLINED]}
    elif kind is RefusalKind.NOT_ENOUGH_COLLATERAL:
        minimum = book.config.DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI
        message = f"every candidate has less collateral than {minimum} wei"
        details = {"minimum_collateral_wei": str(minimum)}
    else:
        message = "every candidate's executors are busy"
        details = {"busy": explain.rejected[FREE_SLOT], "collateral": explain.rejected[COLLATERAL]}
    return Refusal(kind, message, details, explain)
