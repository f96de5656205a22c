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
  as the answers left it (`lost_bookings`);
- `busy_with_room`: a pick refused as every miner busy while, by the answers,
  a miner had a free executor and the allowance for the job (judged only when
  the ledger is told the miners, `hotkeys`, and the caller says the answers
  before it are all in, `judge_room`).

The other counts say what happened: picks, bookings, replays, receipts,
releases, and picks refused (by kind).
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from contracts.jobs import JobRouted
from contracts.refusals import Refusal

VIOLATIONS = ("overspent", "double_booked", "replay_booked_again", "refused_on_the_other", "lost", "busy_with_room")
HOLDING = frozenset({"reserved", "running"})


@dataclass(frozen=True)
class Answer:
    """A picker's answer as a caller reads it, from the picker in process (`of`) or over HTTP (`of_http`)."""

    refused: str | None = None  # the refusal's kind (or, over HTTP, the status and error type of any non-2xx)
    hotkey: str = ""
    replayed: bool = False
    state: str = ""

    @classmethod
    def of(cls, value: Any) -> "Answer":
        if isinstance(value, Refusal):
            return cls(refused=value.kind.value)
        if isinstance(value, JobRouted):
            return cls(hotkey=value.miner.hotkey, replayed=value.replayed)
        return cls(hotkey=value.hotkey, state=getattr(value, "state", ""))  # a JobView, or a Receipt

    @classmethod
    def of_http(cls, status: int, body: dict[str, Any]) -> "Answer":
        if status != 200:
            return cls(refused=f"{status} {body.get('error', {}).get('type', '')}".strip())
        miner = body.get("miner") or {}
        return cls(hotkey=miner.get("hotkey", body.get("hotkey", "")), replayed=body.get("replayed", False),
                   state=body.get("state", ""))


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
    hotkeys: tuple[str, ...] = ()

    def violations(self) -> dict[str, int]:
        return {name: self.counts[name] for name in VIOLATIONS}

    def holding(self) -> list[str]:
        return [u for u, b in self.bookings.items() if b.state in HOLDING]

    def picked(self, job_uuid: str, seconds: int, answer: Answer, judge_room: bool = True) -> None:
        self.counts["picks"] += 1
        if answer.refused:
            self.counts[f"refused {answer.refused}"] += 1
            if judge_room and answer.refused.endswith("AllMinersBusy") and self.room(seconds):
                self.counts["busy_with_room"] += 1
            return
        earlier = self.bookings.get(job_uuid)
        if earlier is not None and earlier.state in HOLDING:
            self.counts["replays"] += 1
            if not answer.replayed or answer.hotkey != earlier.hotkey:
                self.counts["replay_booked_again"] += 1
            return
        self.counts["bookings"] += 1
        self.bookings[job_uuid] = Booking(answer.hotkey, seconds)
        self._check_miner(answer.hotkey)

    def receipt(self, job_uuid: str, kind: str, answer: Answer) -> None:
        self.counts[f"{kind} receipts"] += 1
        if self._refused(answer):
            return
        booking = self.bookings[job_uuid]
        booking.state = {"started": "running", "finished": "finished"}.get(kind, kind)
        booking.burned |= kind == "started"

    def released(self, job_uuid: str, answer: Answer) -> None:
        self.counts["releases"] += 1
        if not self._refused(answer):
            self.bookings[job_uuid].state = answer.state

    def _refused(self, answer: Answer) -> bool:
        """A refusal of an acknowledged job's release or receipt: a violation, unless it is a 503 (nothing
        was applied, say so and try later: counted by its reason)."""
        if answer.refused and answer.refused.startswith("503"):
            self.counts[f"refused {answer.refused}"] += 1
        elif answer.refused:
            self.counts["refused_on_the_other"] += 1
        return bool(answer.refused)

    def spent(self, hotkey: str) -> float:
        """The miner's allowance its acknowledged bookings hold or have had deducted."""
        return sum(b.seconds for b in self.bookings.values() if b.hotkey == hotkey and (b.burned or b.state == "reserved"))

    def room(self, seconds: int) -> bool:
        """Whether some miner has a free executor and more than `seconds` of allowance left (the allowance
        rule, `filters.allowance_suffices`), by the answers."""
        return any(sum(b.hotkey == hotkey and b.state in HOLDING for b in self.bookings.values()) < self.executors
                   and self.allowance - self.spent(hotkey) > seconds for hotkey in self.hotkeys)

    def _check_miner(self, hotkey: str) -> None:
        if self.spent(hotkey) > self.allowance:
            self.counts["overspent"] += 1
        if sum(b.hotkey == hotkey and b.state in HOLDING for b in self.bookings.values()) > self.executors:
            self.counts["double_booked"] += 1

    def lost_bookings(self, views: Iterable[tuple[str, Answer]]) -> None:
        """Count each job a picker's view (uuid, its answer to a job read) does not show as the answers left it."""
        for job_uuid, view in views:
            booking = self.bookings[job_uuid]
            if view.refused or (view.hotkey, view.state) != (booking.hotkey, booking.state):
                self.counts["lost"] += 1
