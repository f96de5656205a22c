"""The candidates of each executor class, ranked, kept current as facts change. Pure.

A pick needs, for the job's executor class, how many miners each candidate
filter rejects and the survivors in rank order. Running the filters over
every miner costs a scan per pick (1.2 ms for 1,000 miners of one class).
The index keeps the answer instead:
- the static filters (`filters.STATIC_FILTERS`: those that judge the miner
  alone, not the job) are run per miner when one of its facts changes, and
  again when time changes their verdict (a manifest going stale, a blacklist
  entry expiring: due events, processed at the next pick);
- survivors with an allowance row of the current cycle sit in a sorted list
  by rank (`filters.rank_key`) and their allowance left (after holds) in
  another, so the per-job `allowance` filter (`filters.allowance_suffices`,
  monotonic in what is left) is a bisect; a miner is judged
  again when one of its holds lapses or an incident leaves the window, since
  both move it in the ranking;
- a new cycle (or a change of the allowance cycles) rebuilds it.
A pick then costs a bisect plus a walk down the ranking to the first miner
with enough collateral and a free slot. That the index and the filters agree
is a property test (`tests/unit/organism/jobs/test_candidate_index.py`).
"""

import heapq
import math
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field

from sortedcontainers import SortedList

from organism.jobs.book import MinerBook
from organism.jobs.filters import (
    FILTER_NAMES,
    FRESH_MANIFEST,
    MANIFEST_MAX_AGE_S,
    STATIC_FILTERS,
    Candidate,
    PickContext,
    RankKey,
    allowance_suffices,
    rank_key,
)
from organism.jobs.incidents import next_lapse


@dataclass
class ClassCandidates:
    """One executor class: static rejections by filter name, and the ranked survivors."""

    rejected_by: dict[str, str] = field(default_factory=dict)  # hotkey -> filter that rejects it
    rejected: Counter = field(default_factory=Counter)
    without_row: set[str] = field(default_factory=set)  # survivors without an allowance row
    ranked: SortedList = field(default_factory=SortedList)  # (rank key, remaining) of survivors with a row
    remaining: SortedList = field(default_factory=SortedList)
    entry: dict[str, tuple[RankKey, float]] = field(default_factory=dict)

    def holds(self, hotkey: str) -> bool:
        return hotkey in self.rejected_by or hotkey in self.without_row or hotkey in self.entry

    def forget(self, hotkey: str) -> None:
        if (name := self.rejected_by.pop(hotkey, None)) is not None:
            self.rejected[name] -= 1
        self.without_row.discard(hotkey)
        if (entry := self.entry.pop(hotkey, None)) is not None:
            self.ranked.remove(entry)
            self.remaining.remove(entry[1])

    def allowance_rejections(self, executor_seconds: int, checked: bool) -> int:
        """Survivors the `allowance` filter rejects for a job of `executor_seconds`."""
        too_little = bisect_left(self.remaining, True, key=lambda left: allowance_suffices(left, executor_seconds)) if checked else 0
        return len(self.without_row) + too_little


class CandidateIndex:
    def __init__(self) -> None:
        self._classes: dict[str, ClassCandidates] = {}
        self._cycles: tuple[tuple[int, int], ...] | None = None
        self._due: list[tuple[float, str, str]] = []  # (when a verdict may change, hotkey, class)
        self._scheduled: set[tuple[float, str, str]] = set()

    def candidates(self, book: MinerBook, executor_class: str, block: int, now: float) -> ClassCandidates:
        cycles = tuple(sorted(c for c in book.allowances if c[0] <= block < c[1]))
        if cycles != self._cycles:
            self._rebuild(book, cycles, now)
            book.changed.clear()
        for hotkey in book.changed:  # miners whose facts changed since the last pick: every class that has
            # a manifest of theirs, and every class that had one (a deregistered miner loses them all)
            classes = {c for c, by in book.manifests.items() if hotkey in by}
            classes |= {c for c, index in self._classes.items() if index.holds(hotkey)}
            for name in classes:
                self._judge(book, hotkey, name, now)
        book.changed.clear()
        while self._due and self._due[0][0] <= now:
            due = heapq.heappop(self._due)
            self._scheduled.discard(due)
            self._judge(book, due[1], due[2], now)
        return self._classes.setdefault(executor_class, ClassCandidates())

    def _rebuild(self, book: MinerBook, cycles: tuple[tuple[int, int], ...], now: float) -> None:
        self._classes, self._cycles, self._due, self._scheduled = {}, cycles, [], set()
        for executor_class, by_hotkey in book.manifests.items():
            for hotkey in by_hotkey:
                self._judge(book, hotkey, executor_class, now)

    def _judge(self, book: MinerBook, hotkey: str, executor_class: str, now: float) -> None:
        index = self._classes.setdefault(executor_class, ClassCandidates())
        index.forget(hotkey)
        manifest = book.manifests.get(executor_class, {}).get(hotkey)
        if manifest is None:
            return
        context = PickContext(book, None, now, {})  # the static filters read neither job nor rows
        candidate = Candidate(manifest)
        for stage in STATIC_FILTERS:
            if stage.check(candidate, context) is not None:
                index.rejected_by[hotkey] = stage.name
                index.rejected[stage.name] += 1
                break
        self._schedule(book, hotkey, executor_class, now)
        if hotkey in index.rejected_by:
            return
        row = self._row(book, hotkey)
        if row is None:
            index.without_row.add(hotkey)
            return
        entry = (rank_key(candidate, row, context), book.allowance_left(row, now))
        index.entry[hotkey] = entry
        index.ranked.add(entry)
        index.remaining.add(entry[1])

    def _row(self, book: MinerBook, hotkey: str):
        row = None
        for cycle in self._cycles or ():  # the newest cycle wins on overlap, as in `allowance_rows`
            row = book.allowances[cycle].get(hotkey, row)
        return row

    def _schedule(self, book: MinerBook, hotkey: str, executor_class: str, now: float) -> None:
        """When may time alone change this miner's verdict? Then judge it again."""
        moments = [
            book.manifests[executor_class][hotkey].observed_at + MANIFEST_MAX_AGE_S,
            book.next_hold_lapse(hotkey, now),
            next_lapse(book.incidents.get(hotkey, ()), book.config, now),
        ]
        entry = book.blacklist.get(hotkey)
        if entry is not None and entry.expires_at is not None:
            moments.append(entry.expires_at)
        for moment in filter(None, moments):
            due = (math.nextafter(moment, math.inf), hotkey, executor_class)  # at `moment` the verdict still holds
            if moment >= now and due not in self._scheduled:
                self._scheduled.add(due)
                heapq.heappush(self._due, due)


def static_rejections(index: ClassCandidates, book: MinerBook, executor_class: str) -> dict[str, int]:
    """Counts per filter name, with miners that have no manifest for the class under `fresh_manifest`."""
    counts = dict.fromkeys(FILTER_NAMES, 0)
    counts.update(index.rejected)
    counts[FRESH_MANIFEST] += len(book.miners) - len(book.manifests.get(executor_class, {}))
    return counts
