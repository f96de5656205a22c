"""What callers of two pickers were told, kept as a caller keeps it, and each answer that breaks "two behave as one".

Two pickers on one database (the clusters of a NewCluster upgrade) must answer
as one picker would. The ledger records every acknowledged booking (its miner,
its executor-seconds, its state as the answers said) and counts, by name,
what one picker would never do:

- `overspent`: a miner's acknowledged holds and deductions exceed its allowance
  (checked after every answer);
- `double_booked`: more jobs on a miner than its executors, or a uuid booked
  afresh while its booking holds;
- `replay_booked_again`: a replay answered as a new booking, or on another miner;
- `refused_on_the_other`: a release or receipt of an acknowledged job refused;
- `lost`: an acknowledged booking that a picker, asked at the end, does not know
  as the answers left it (`lost_bookings`).

The other counts say what happened: picks, bookings, replays, receipts,
releases, and picks refused (by kind).
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from contracts.jobs import JobRouted, JobView, Receipt
from contracts.refusals import Refusal

VIOLATIONS = ("overspent", "double_booked", "replay_booked_again", "refused_on_the_other", "lost")
HOLDING = frozenset({"reserved", "running"})


@dataclass
class Booking:
    hotkey: str
    seconds: int
    state: str = "reserved"
    burned: bool = False  # started: its seconds are deducted, whatever happens next


@dataclass
class Ledger:
    allowance: float
    executors: int
    bookings: dict[str, Booking] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)

    def violations(self) -> dict[str, int]:
        return {name: self.counts[name] for name in VIOLATIONS}

    def holding(self) -> list[str]:
        return [u for u, b in self.bookings.items() if b.state in HOLDING]

    def picked(self, job_uuid: str, seconds: int, answer: JobRouted | Refusal) -> None:
        self.counts["picks"] += 1
        if isinstance(answer, Refusal):
            self.counts[f"refused {answer.kind.value}"] += 1
            return
        earlier = self.bookings.get(job_uuid)
        if earlier is not None and earlier.state in HOLDING:
            self.counts["replays"] += 1
            if not answer.replayed or answer.miner.hotkey != earlier.hotkey:
                self.counts["replay_booked_again"] += 1
            return
        self.counts["bookings"] += 1
        self.bookings[job_uuid] = Booking(answer.miner.hotkey, seconds)
        self._check_miner(answer.miner.hotkey)

    def receipt(self, job_uuid: str, kind: str, answer: Receipt | Refusal) -> None:
        self.counts[f"{kind} receipts"] += 1
        if isinstance(answer, Refusal):
            self.counts["refused_on_the_other"] += 1
            return
        booking = self.bookings[job_uuid]
        booking.state = {"started": "running", "finished": "finished"}.get(kind, kind)
        booking.burned |= kind == "started"

    def released(self, job_uuid: str, answer: JobView | Refusal) -> None:
        self.counts["releases"] += 1
        if isinstance(answer, Refusal):
            self.counts["refused_on_the_other"] += 1
            return
        self.bookings[job_uuid].state = answer.state

    def spent(self, hotkey: str) -> float:
        """The miner's allowance its acknowledged bookings hold or have had deducted."""
        return sum(b.seconds for b in self.bookings.values() if b.hotkey == hotkey and (b.burned or b.state == "reserved"))

    def _check_miner(self, hotkey: str) -> None:
        if self.spent(hotkey) > self.allowance:
            self.counts["overspent"] += 1
        if sum(b.hotkey == hotkey and b.state in HOLDING for b in self.bookings.values()) > self.executors:
            self.counts["double_booked"] += 1

    def lost_bookings(self, views: Iterable[tuple[str, JobView | Refusal]]) -> None:
        """Count each job a picker's view (uuid, answer to `job`) does not show as the answers left it."""
        for job_uuid, view in views:
            booking = self.bookings[job_uuid]
            if isinstance(view, Refusal) or (view.hotkey, view.state) != (booking.hotkey, booking.state):
                self.counts["lost"] += 1
