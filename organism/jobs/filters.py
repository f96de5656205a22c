"""Miner selection as named filters and scorers, the scheduler-framework way. Pure.

A filter is a name, the refusal a pick gets when the filter leaves nobody,
a check that judges one candidate (`None` to pass, or a `Rejection` with its
reason), and whether it is *static*: judging the miner alone, never the job,
so the candidate index may keep its verdict until a fact or time changes
it. The allowance rule (`allowance_suffices`) and the ranking (`rank_key`)
are defined here once; the candidate index applies the same two. The policy runs `CANDIDATE_FILTERS` over every miner with
a manifest for the job's class, ranks the survivors by `SCORERS` (lower
first, in order: fewer recent incidents per online executor, more allowance
left of the initial, more collateral; then the hotkey), then walks them
through `SLOT_FILTERS` until one passes; `explain` counts rejections by
filter name. Adding a filter or a scorer is one function and one line in a
tuple.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from contracts.jobs import Allowance, Explain, JobSpec, Manifest
from contracts.refusals import RefusalKind
from organism.jobs.book import MinerBook
from organism.jobs.records import RoutedJob

MANIFEST_MAX_AGE_S = 4 * 3600

NOT_BLACKLISTED = "not_blacklisted"
FRESH_MANIFEST = "fresh_manifest"
ONLINE_EXECUTORS = "online_executors"
ALLOWANCE = "allowance"
COLLATERAL = "collateral"
FREE_SLOT = "free_slot"
NOT_DECLINED = "not_declined"


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
    static: bool = False  # judges the miner alone: its verdict holds for every job of the class


def allowance_suffices(left: float, needed: int) -> bool:
    """The allowance rule: a miner may take a job when more is left than the job needs (strictly)."""
    return left > needed


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
    left = context.book.allowance_left(row, context.now)
    if context.book.config.DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING and not allowance_suffices(left, needed):
        held = f" ({row.remaining - left:g} s held by reservations)" if left < row.remaining else ""
        return Rejection(f"{left:g} s of allowance left{held}, the job needs more than {needed} s")
    return None


def collateral_suffices(collateral: int, minimum: int) -> bool:
    """The collateral rule: any collateral while no minimum is set, else at least the minimum."""
    return minimum <= 0 or collateral >= minimum


def enough_collateral(candidate: Candidate, context: PickContext) -> Rejection | None:
    minimum = context.book.config.DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI
    collateral = context.book.miners[candidate.hotkey].collateral_wei
    return None if collateral_suffices(collateral, minimum) else Rejection(f"collateral {collateral} < {minimum} wei")


def declined_by(context: PickContext) -> Sequence[str]:
    """The miners that declined, failed or timed out on the job before (it was routed here and ended so)."""
    earlier: RoutedJob | None = context.book.jobs.get(context.job.job_uuid)
    return earlier.declined_by if earlier is not None else ()


def not_declined(candidate: Candidate, context: PickContext) -> Rejection | None:
    """A job routed again after a miner declined, failed or timed out on it goes elsewhere."""
    if candidate.hotkey in declined_by(context):
        return Rejection("declined, failed or timed out on this job before")
    return None


def free_slot(candidate: Candidate, context: PickContext) -> Rejection | None:
    online = candidate.manifest.online_executor_count
    if context.book.has_free_slot(candidate.hotkey, context.job.executor_class, online, context.now):
        return None
    return Rejection(f"all {online} executors busy")


def known_busy(context: PickContext) -> Callable[[str], bool]:
    """Whether the slot filters reject a miner by `free_slot`, judged without running them from what the book
    already knows: the job not declined by it, its collateral enough, and its slot remembered full (the first
    check of `MinerBook.has_free_slot`). For the walk past busy miners (`policy._walk`)."""
    book, now, executor_class = context.book, context.now, context.job.executor_class
    declined, minimum = declined_by(context), book.config.DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI
    return lambda hotkey: (book.full_until.get((hotkey, executor_class), 0.0) > now and hotkey not in declined
                           and collateral_suffices(book.miners[hotkey].collateral_wei, minimum))


CANDIDATE_FILTERS: tuple[Filter, ...] = (
    Filter(NOT_BLACKLISTED, RefusalKind.NO_MINER_FOR_EXECUTOR_TYPE, not_blacklisted, static=True),
    Filter(FRESH_MANIFEST, RefusalKind.NO_MINER_FOR_EXECUTOR_TYPE, fresh_manifest, static=True),
    Filter(ONLINE_EXECUTORS, RefusalKind.NO_MINER_FOR_EXECUTOR_TYPE, online_executors, static=True),
    Filter(ALLOWANCE, RefusalKind.NO_MINER_WITH_ENOUGH_ALLOWANCE, enough_allowance),
)
STATIC_FILTERS: tuple[Filter, ...] = tuple(f for f in CANDIDATE_FILTERS if f.static)
SLOT_FILTERS: tuple[Filter, ...] = (
    Filter(NOT_DECLINED, RefusalKind.ALL_CANDIDATES_DECLINED, not_declined),
    Filter(COLLATERAL, RefusalKind.NOT_ENOUGH_COLLATERAL, enough_collateral),
    Filter(FREE_SLOT, RefusalKind.ALL_MINERS_BUSY, free_slot),
)
FILTER_NAMES: tuple[str, ...] = tuple(f.name for f in (*CANDIDATE_FILTERS, *SLOT_FILTERS))


# --- ranking ------------------------------------------------------------------------------
Score = Callable[[Candidate, Allowance, PickContext], float]


@dataclass(frozen=True, slots=True)
class Scorer:
    name: str
    score: Score  # lower ranks first


def fewer_recent_incidents(candidate: Candidate, row: Allowance, context: PickContext) -> float:
    """Recent incidents per online executor: a few on a large miner weigh little (0 when demotion is off)."""
    if not context.book.config.DYNAMIC_DEMOTE_MINERS_WITH_INCIDENTS:
        return 0.0
    recent = len(context.book.recent_incidents(candidate.hotkey, context.now))
    return recent / max(1, candidate.manifest.online_executor_count)


def more_allowance_left(candidate: Candidate, row: Allowance, context: PickContext) -> float:
    """Allowance left (after what reservations hold) as a share of the initial, higher first."""
    return -(context.book.allowance_left(row, context.now) / row.initial) if row.initial else 0.0


def more_collateral(candidate: Candidate, row: Allowance, context: PickContext) -> float:
    return -context.book.miners[candidate.hotkey].collateral_wei  # an int: every wei counts


SCORERS: tuple[Scorer, ...] = (
    Scorer("fewer_recent_incidents", fewer_recent_incidents),
    Scorer("more_allowance_left", more_allowance_left),
    Scorer("more_collateral", more_collateral),
)
SCORER_NAMES: tuple[str, ...] = tuple(scorer.name for scorer in SCORERS)
RankKey = tuple[Any, ...]


def blank_explain(miners: int) -> Explain:
    """A pick's explain before anything was judged: every filter's count at 0."""
    return Explain(miners=miners, rejected=dict.fromkeys(FILTER_NAMES, 0), scorers=SCORER_NAMES)


def rank_key(candidate: Candidate, row: Allowance, context: PickContext) -> RankKey:
    """The candidate's scores in `SCORERS` order, then its hotkey: sorting by it is the ranking."""
    return (*(scorer.score(candidate, row, context) for scorer in SCORERS), candidate.hotkey)
