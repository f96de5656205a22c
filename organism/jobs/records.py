"""The book's own records, and what a decision changes in it. Pure.

A booking is a `Reservation` (a slot held until it lapses) and a
`RoutedJob` (its life: state, history, the miners that declined it). How a
job ends, by release reason or receipt kind, is `ENDINGS`. The records that
cross the actor boundary (miners, manifests, receipts, ...) are in
`contracts.jobs`.

The policy's choice is a `Selection`. Every mutation of the book answers `Writes`: the records it saved and the
ones it dropped, for the picker actor to persist (`documents` says how)
before it answers. A `Change` is a decision's answer with its writes and
what happens to the job's slot claim in the store.
"""

from dataclasses import dataclass, field
from typing import Any

from contracts.jobs import Explain, IncidentKind, JobEvent, JobState

ENDED = frozenset({JobState.FINISHED, JobState.FAILED, JobState.DECLINED, JobState.RELEASED})

# how a job ends, by release reason or receipt kind: its state, and the miner's incident if any
ENDINGS: dict[str, tuple[JobState, IncidentKind | None]] = {
    "declined": (JobState.DECLINED, IncidentKind.DECLINED),
    "failed": (JobState.FAILED, IncidentKind.FAILED),
    "timeout": (JobState.FAILED, IncidentKind.TIMEOUT),
    "cancelled": (JobState.RELEASED, None),
}


@dataclass(slots=True)
class Reservation:
    job_uuid: str
    hotkey: str
    executor_class: str
    created_at: float
    expires_at: float

    def active(self, now: float) -> bool:
        return now < self.expires_at


@dataclass(slots=True)
class RoutedJob:
    job_uuid: str
    hotkey: str
    executor_class: str
    executor_seconds: int
    required_seconds: int
    reason: str
    allowance_deducted: bool = False
    routed_at: float = 0.0
    # its life; the defaults are what a job stored before these fields existed reads as
    state: str = JobState.RESERVED.value  # as recorded; `expired` is read from the reservation
    history: list[JobEvent] = field(default_factory=list)
    declined_by: list[str] = field(default_factory=list)  # miners a new pick of this uuid passes over
    hold_cycle: tuple[int, int] | None = None  # the allowance cycle its executor-seconds are held in
    owner: str = ""  # the service that routed it first: it (or an admin) alone may end it

    def __post_init__(self) -> None:  # loaded from JSON: events as dicts, the cycle as a list
        self.history = [e if isinstance(e, JobEvent) else JobEvent(**e) for e in self.history]
        self.hold_cycle = tuple(self.hold_cycle) if self.hold_cycle is not None else None


@dataclass(frozen=True, slots=True)
class AllowanceDeduction:
    """A started job's executor-seconds taken from its miner's allowance row: stored as arithmetic on the
    row the database holds (`documents.write`), never as this picker's copy of it."""

    hotkey: str
    cycle_start: int
    cycle_stop: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Selection:
    """The policy's choice: a miner, why, and whether to reserve it (replays and overrides do not)."""

    hotkey: str
    reason: str  # selected | debug_miner | trusted_miner (a replay: the booking's own)
    reserve: bool
    explain: Explain
    required_seconds: int  # the job's time in the cycle (`prefilters.required_seconds`)
    replayed: bool = False


@dataclass(slots=True)
class Writes:
    """Records a mutation saved (new or changed) and dropped, in order."""

    saved: list[Any] = field(default_factory=list)
    dropped: list[Any] = field(default_factory=list)

    def __add__(self, other: "Writes") -> "Writes":
        return Writes([*self.saved, *other.saved], [*self.dropped, *other.dropped])


@dataclass(frozen=True, slots=True)
class Change:
    """An answer, and what to write (in one transaction) before giving it."""

    answer: Any
    writes: Writes = field(default_factory=Writes)
    release_claim: bool = False  # the job's slot claim in the store goes
    hold_claim_until: float | None = None  # or is held until then
