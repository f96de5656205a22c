"""Miner selection for a job: the seed's steps over a book snapshot. Pure.

First the job's own checks, the named pre-filters of `prefilters` (a replay,
a finished uuid, the executor class, the debug and trusted miners, the
current block, the time left in the cycle); then the named miner filters and
scorers of `filters`: candidates, ranking, then the first ranked candidate
that did not decline this job, has enough collateral and a free slot is
selected. In the spread ordering (`spread`), the ranked candidates are tried
in a weighted random order instead, on the index's fast path and on the
reference path alike.

Refusals are values (`Refusal`) with the counts of `explain`, so the caller
learns exactly why: a blacklist, a stale manifest, allowance, collateral and
busy slots are told apart.
"""

import itertools
from collections.abc import Iterable, Iterator
from random import Random

from contracts.chain import Cycle
from contracts.jobs import Explain, JobSpec, Manifest
from contracts.refusals import Refusal, RefusalKind
from organism.jobs.book import MinerBook
from organism.jobs.candidate_index import CandidateIndex, ClassCandidates, static_rejections
from organism.jobs.filters import (
    ALLOWANCE,
    CANDIDATE_FILTERS,
    COLLATERAL,
    FREE_SLOT,
    FRESH_MANIFEST,
    NOT_DECLINED,
    SLOT_FILTERS,
    STATIC_FILTERS,
    Candidate,
    Filter,
    PickContext,
    RankKey,
    Rejection,
    allowance_suffices,
    blank_explain,
    known_busy,
    rank_key,
)
from organism.jobs.prefilters import PRE_FILTERS, JobContext, required_seconds
from organism.jobs.records import Selection
from organism.jobs.report import kept_in_report
from organism.jobs.spread import SPREAD, weight, weighted_order

STATIC_BY_NAME = {stage.name: stage for stage in STATIC_FILTERS}


def pick(
    book: MinerBook, job: JobSpec, block: int | None, netuid: int, now: float, index: CandidateIndex | None = None,
    rng: Random | None = None,
) -> Selection | Refusal:
    """Route `job`. With an `index`, the candidate filters come from it (the fast path of real
    picks: `explain` keeps what the routing report keeps); without, every filter runs over every
    miner and `explain` says why for each one. In the spread ordering, `rng` draws the order the
    ranked candidates are tried in."""
    explain = blank_explain(len(book.miners))
    context = JobContext(book, job, block, netuid, now, explain, required_seconds(job, book.config))
    for stage in PRE_FILTERS:
        if (verdict := stage.check(context)) is not None:
            return verdict
    cycle = context.cycle
    manifests = book.manifests.get(job.executor_class, {})
    explain.judged = len(manifests)
    spread = Random() if rng is None and book.config.DYNAMIC_ROUTING_ORDER == SPREAD else rng
    if index is not None:
        return _select_by_index(book, job, block, now, cycle, explain, index, context.required_s, spread)
    scratch = PickContext(book, job, now, book.allowance_rows(block))
    explain.rejected[FRESH_MANIFEST] = len(book.miners) - len(manifests)  # none at all for this class
    candidates = [Candidate(manifest) for manifest in manifests.values()]
    for stage in CANDIDATE_FILTERS:
        candidates = [c for c in candidates if _passes(stage, c, scratch, explain)]
        if not candidates:
            return _refusal(stage.refusal, explain, job, cycle, book)

    explain.candidates = len(candidates)
    keys = {c.hotkey: rank_key(c, scratch.allowance_rows[c.hotkey], scratch) for c in candidates}
    candidates.sort(key=lambda c: keys[c.hotkey])
    explain.ranking = [c.hotkey for c in candidates]
    explain.scores = {c.hotkey: _scores(keys[c.hotkey]) for c in candidates}
    if book.config.DYNAMIC_ROUTING_ORDER == SPREAD:
        lefts = {c.hotkey: book.allowance_left(scratch.allowance_rows[c.hotkey], now) for c in candidates}
        bound = max(1.0, *lefts.values())
        candidates = weighted_order(candidates, lambda c: _weight(book, c.hotkey, lefts[c.hotkey], now), bound, spread)
    return _first_with_a_slot(candidates, scratch, explain, cycle, context.required_s)


def _weight(book: MinerBook, hotkey: str, left: float, now: float) -> float:
    return weight(left, len(book.recent_incidents(hotkey, now)), book.config)


def _select_by_index(
    book: MinerBook, job: JobSpec, block: int, now: float, cycle: Cycle, explain: Explain, index: CandidateIndex,
    required_s: int, spread: Random | None,
) -> Selection | Refusal:
    """The pick from the candidate index. What the routing report keeps is recorded on the way, from the
    index's verdicts: for a full report each rejected miner's reason (the one filter that rejected it, run
    again for its words), for a compact one the top of the ranking (`report.kept_in_report`)."""
    ranked = index.candidates(book, job.executor_class, block, now)
    explain.rejected.update(static_rejections(ranked, book, job.executor_class))
    kept = kept_in_report(explain.judged)
    context = PickContext(book, job, now, book.allowance_rows(block) if kept is None else {})
    if kept is None:
        for hotkey, name in ranked.rejected_by.items():
            _record(STATIC_BY_NAME[name], Candidate(book.manifests[job.executor_class][hotkey]), context, explain)
    survivors = len(ranked.without_row) + len(ranked.ranked)
    if not survivors:
        return _refusal(STATIC_FILTERS[0].refusal, explain, job, cycle, book)  # every static filter refuses alike
    checked = book.config.DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING
    explain.rejected[ALLOWANCE] = ranked.allowance_rejections(job.executor_seconds, checked)
    explain.candidates = survivors - explain.rejected[ALLOWANCE]
    manifests = book.manifests[job.executor_class]
    if kept is None:
        too_little = [key[-1] for key, left in ranked.ranked if checked and not allowance_suffices(left, job.executor_seconds)]
        for hotkey in (*ranked.without_row, *too_little):
            _record(CANDIDATE_FILTERS[-1], Candidate(manifests[hotkey]), context, explain)
    if not explain.candidates:
        return _refusal(RefusalKind.NO_MINER_WITH_ENOUGH_ALLOWANCE, explain, job, cycle, book)
    ranking = _enough(ranked, job, checked)
    top = list(ranking if kept is None else itertools.islice(ranking, kept))
    explain.ranking = [key[-1] for key in top]
    explain.scores = {key[-1]: _scores(key) for key in top}
    if book.config.DYNAMIC_ROUTING_ORDER == SPREAD:
        order = _spread_order(book, ranked, job, checked, now, spread)
    else:
        order = top if kept is None else _enough(ranked, job, checked)
    outcome = _first_with_a_slot(_walk(order, manifests, context, kept), context, explain, cycle, required_s, detailed=kept)
    if isinstance(outcome, Selection) and outcome.hotkey not in explain.scores:  # chosen below the top kept
        explain.scores[outcome.hotkey] = _scores(ranked.entry[outcome.hotkey][0])
    return outcome


def _spread_order(book: MinerBook, ranked: ClassCandidates, job: JobSpec, checked: bool, now: float,
                  spread: Random | None) -> Iterator[RankKey]:
    """The survivors' rank keys in a weighted random order; too little allowance: weight 0, never drawn."""
    def entry_weight(entry: tuple[RankKey, float]) -> float:
        enough_left = not checked or allowance_suffices(entry[1], job.executor_seconds)
        return _weight(book, entry[0][-1], entry[1], now) if enough_left else 0.0

    drawn = weighted_order(ranked.ranked, entry_weight, max(1.0, ranked.remaining[-1]), spread)
    return (key for key, left in drawn if not checked or allowance_suffices(left, job.executor_seconds))


def _enough(ranked: ClassCandidates, job: JobSpec, checked: bool) -> Iterator[RankKey]:
    """The ranked survivors' rank keys the allowance filter passes, best first."""
    return (key for key, left in ranked.ranked if not checked or allowance_suffices(left, job.executor_seconds))


def _walk(order: Iterable[RankKey], manifests: dict[str, Manifest], context: PickContext,
          detailed: int | None) -> Iterator[Candidate | None]:
    """The candidates in `order`; past the first `detailed`, None for a miner the book already knows busy
    (`filters.known_busy`), judged without building it: on a busy class the best-ranked miners are the full
    ones, and walking past them one by one through every slot filter was most of a pick's time (README,
    *Simulating job routing*)."""
    busy = known_busy(context)
    for walked, key in enumerate(order):
        hotkey = key[-1]
        yield None if detailed is not None and walked >= detailed and busy(hotkey) else Candidate(manifests[hotkey])


def _scores(key: RankKey) -> tuple[float, ...]:
    return key[:-1]  # the key's last item, the hotkey, is no score


def _first_with_a_slot(
    candidates: Iterable[Candidate | None], context: PickContext, explain: Explain, cycle: Cycle, required_s: int,
    detailed: int | None = None,
) -> Selection | Refusal:
    """The first ranked candidate that passes every slot filter is selected; the reasons of those
    passed over are kept for the first `detailed` of them (None: all)."""
    refusals: set[RefusalKind] = set()
    for walked, candidate in enumerate(candidates, 1):  # the hot loop of a pick past busy miners: no helper calls
        explain.walked = walked
        if candidate is None:  # known busy (`_walk`): the free-slot filter's verdict, counted without its words
            explain.rejected[FREE_SLOT] += 1
            refusals.add(RefusalKind.ALL_MINERS_BUSY)
            continue
        for stage in SLOT_FILTERS:
            if (rejection := stage.check(candidate, context)) is not None:
                _count(stage, candidate, rejection, explain, detailed is None or walked <= detailed)
                refusals.add(stage.refusal)
                break
        else:
            return Selection(candidate.hotkey, "selected", True, explain, required_s)
    only = refusals.pop() if len(refusals) == 1 else RefusalKind.ALL_MINERS_BUSY
    return _refusal(only, explain, context.job, cycle, context.book)


def _passes(stage: Filter, candidate: Candidate, context: PickContext, explain: Explain) -> bool:
    rejection = stage.check(candidate, context)
    if rejection is not None:
        _count(stage, candidate, rejection, explain, keep=True)
    return rejection is None


def _count(stage: Filter, candidate: Candidate, rejection: Rejection, explain: Explain, keep: bool) -> None:
    explain.rejected[stage.name] += 1
    if keep:
        explain.rejections[candidate.hotkey] = (stage.name, rejection.reason)


def _record(stage: Filter, candidate: Candidate, context: PickContext, explain: Explain) -> None:
    """Keep the reason a filter gives for a miner the index already counted as rejected by it."""
    rejection = stage.check(candidate, context)
    explain.rejections[candidate.hotkey] = (stage.name, rejection.reason if rejection else stage.name)


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
