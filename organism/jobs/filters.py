"""Miner selection as named filters, the scheduler-framework way. Pure.

A filter is a name, the refusal a pick gets when the filter leaves nobody,
and a check that judges one candidate: `None` to pass, or a `Rejection`
with its reason. The policy runs `CANDIDATE_FILTERS` over every miner with
a manifest for the job's class, ranks the survivors, then walks them through
`SLOT_FILTERS` until one passes; `explain` counts rejections by filter name.
Adding a filter is one check function and one line in a tuple.
"""

from collections.abc import Callable
from dataclasses import dataclass

from organism.jobs.book import MinerBook
from organism.jobs.outcomes import RefusalKind
from organism.jobs.records import Allowance, JobSpec, Manifest

MANIFEST_MAX_AGE_S = 4 * 3600

NOT_BLACKLISTED = "not_blacklisted"
FRESH_MANIFEST = "fresh_manifest"
ONLINE_EXECUTORS = "online_executors"
ALLOWANCE = "allowance"
COLLATERAL = "collateral"
FREE_SLOT = "free_slot"


@dataclass(frozen=True, slots=True)
class PickContext:
    """What every check reads, computed once per decision."""

    book: MinerBook
    job: JobSpec | None  # None when only job-independent filters run (the candidate index)
    now: float
    allowance_rows: dict[str, Allowance]  # of the cycle containing the current block


@dataclass(frozen=True, slots=True)
class Candidate:
    manifest: Manifest  # the newest one for the job's class

    @property
    def hotkey(self) -> str:
        return self.manifest.hotkey


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str


Check = Callable[[Candidate, PickContext], Rejection | None]


@dataclass(frozen=True, slots=True)
class Filter:
    name: str
    refusal: RefusalKind
    check: Check


def not_blacklisted(candidate: Candidate, context: PickContext) -> Rejection | None:
    entry = context.book.blacklist.get(candidate.hotkey)
    if entry is not None and entry.active(context.now):
        return Rejection(f"blacklisted ({entry.reason})" if entry.reason else "blacklisted")
    return None


def fresh_manifest(candidate: Candidate, context: PickContext) -> Rejection | None:
    age = context.now - candidate.manifest.observed_at
    return Rejection(f"newest manifest is {age:.0f} s old") if age > MANIFEST_MAX_AGE_S else None


def online_executors(candidate: Candidate, context: PickContext) -> Rejection | None:
    return Rejection("no online executors") if candidate.manifest.online_executor_count <= 0 else None


def enough_allowance(candidate: Candidate, context: PickContext) -> Rejection | None:
    row = context.allowance_rows.get(candidate.hotkey)
    if row is None:
        return Rejection("no allowance row for the current cycle")
    needed = context.job.executor_seconds
    if context.book.config.DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING and row.remaining <= needed:
        return Rejection(f"{row.remaining:g} s of allowance left, the job needs more than {needed} s")
    return None


def enough_collateral(candidate: Candidate, context: PickContext) -> Rejection | None:
    minimum = context.book.config.DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI
    collateral = context.book.miners[candidate.hotkey].collateral_wei
    return Rejection(f"collateral {collateral} < {minimum} wei") if minimum > 0 and collateral < minimum else None


def free_slot(candidate: Candidate, context: PickContext) -> Rejection | None:
    online = candidate.manifest.online_executor_count
    if context.book.has_free_slot(candidate.hotkey, context.job.executor_class, online, context.now):
        return None
    return Rejection(f"all {online} executors busy")


CANDIDATE_FILTERS: tuple[Filter, ...] = (
    Filter(NOT_BLACKLISTED, RefusalKind.NO_MINER_FOR_EXECUTOR_TYPE, not_blacklisted),
    Filter(FRESH_MANIFEST, RefusalKind.NO_MINER_FOR_EXECUTOR_TYPE, fresh_manifest),
    Filter(ONLINE_EXECUTORS, RefusalKind.NO_MINER_FOR_EXECUTOR_TYPE, online_executors),
    Filter(ALLOWANCE, RefusalKind.NO_MINER_WITH_ENOUGH_ALLOWANCE, enough_allowance),
)
SLOT_FILTERS: tuple[Filter, ...] = (
    Filter(COLLATERAL, RefusalKind.NOT_ENOUGH_COLLATERAL, enough_collateral),
    Filter(FREE_SLOT, RefusalKind.ALL_MINERS_BUSY, free_slot),
)
FILTER_NAMES: tuple[str, ...] = tuple(f.name for f in (*CANDIDATE_FILTERS, *SLOT_FILTERS))
