"""A replay's figures: what the report shows, as numbers (and as JSON for scripts). Pure.

Jobs asked for and booked, decisions routed and refused by kind, the time
from a job's first request to its booking, decision time p50/p95, and per
miner: its share of the booked executor-seconds against its share of the
allowance it was given (summed over the rows of the trace's cycles), what it
burnt and has left, its incidents and automatic blacklists. The spread
figure is the Gini coefficient of the miners' booking-share / allowance-share
ratios: 0 when every miner is booked in proportion to its allowance, towards
1 when a few take everything.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from organism.jobs.simulation.observations import Observations


@dataclass(frozen=True, slots=True)
class MinerFigures:
    hotkey: str
    bookings: int
    booked_seconds: int
    booking_share: float
    allowance_share: float
    ratio: float  # booking share / allowance share (0 without allowance)
    allowance_initial: float
    allowance_burnt: float
    allowance_left: float
    incidents: int
    auto_blacklists: int


@dataclass(frozen=True, slots=True)
class Report:
    label: str
    jobs: int
    jobs_booked: int
    never_booked: dict[str, int]  # last refusal kind -> jobs never booked
    decisions: int
    routed: int
    refusals: dict[str, int]  # refusal kind -> decisions
    wait_s: dict[str, float]  # first request -> first booking: p50, p95, max
    decision_ms: dict[str, float]  # p50, p95
    gini: float
    incidents: int
    auto_blacklists: int
    declines: int
    declines_with_incident: int
    live_matched: int
    live_differed: list[tuple[str, str, str]]
    facts_refused: dict[str, int]
    skipped_receipts: int
    miners: list[MinerFigures]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def gini(values: Sequence[float]) -> float:
    """The Gini coefficient of non-negative values (0: all equal; 0 for none or all zero)."""
    ordered, total = sorted(values), sum(values)
    if not ordered or total <= 0:
        return 0.0
    n = len(ordered)
    weighted = sum(rank * value for rank, value in enumerate(ordered, start=1))
    return 2 * weighted / (n * total) - (n + 1) / n


def percentiles(values: Sequence[float], *, scale: float = 1.0) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"p50": 0.0, "p95": 0.0, "max": 0.0}

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * scale

    return {"p50": at(0.5), "p95": at(0.95), "max": ordered[-1] * scale}


def _miners(observed: Observations) -> list[MinerFigures]:
    initial, left = Counter(), Counter()
    for row in observed.rows.values():
        initial[row.hotkey] += row.initial
        left[row.hotkey] += row.remaining
    hotkeys = sorted(set(initial) | set(observed.booked_seconds))
    total_allowance = sum(initial.values()) or 1.0
    total_booked = sum(observed.booked_seconds.values()) or 1
    auto = Counter(hotkey for _, hotkey in observed.auto_blacklists)
    figures = []
    for hotkey in hotkeys:
        booking_share = observed.booked_seconds[hotkey] / total_booked
        allowance_share = initial[hotkey] / total_allowance
        figures.append(MinerFigures(
            hotkey, observed.booked_jobs[hotkey], observed.booked_seconds[hotkey], booking_share, allowance_share,
            booking_share / allowance_share if allowance_share else 0.0, initial[hotkey],
            initial[hotkey] - left[hotkey], left[hotkey], observed.incidents[hotkey], auto[hotkey],
        ))
    return figures


def report(observed: Observations, label: str) -> Report:
    miners = _miners(observed)
    return Report(
        label=label,
        jobs=len(observed.first_asked),
        jobs_booked=len(observed.bookings),
        never_booked=dict(observed.never_booked.most_common()),
        decisions=len(observed.decision_s),
        routed=observed.routed_decisions,
        refusals=dict(observed.refusals.most_common()),
        wait_s=percentiles(observed.waits_s),
        decision_ms=percentiles(observed.decision_s, scale=1000.0),
        gini=gini([m.ratio for m in miners if m.allowance_share > 0]),
        incidents=sum(observed.incidents.values()),
        auto_blacklists=len(observed.auto_blacklists),
        declines=observed.declines,
        declines_with_incident=observed.declines_with_incident,
        live_matched=observed.live_matched,
        live_differed=observed.live_differed[:20],
        facts_refused=dict(observed.facts_refused),
        skipped_receipts=observed.skipped_receipts,
        miners=miners,
    )
