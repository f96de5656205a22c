"""The facts job routing keeps about miners and jobs, one record type each. Pure.

A job request (`JobSpec`); miners, the latest manifest per (miner, executor class), blacklist entries,
allowance rows per (miner, cycle), receipts, preliminary reservations, routed
jobs with their life (`JobState`, `JobEvent`) and miner incidents.
`MinerBook` indexes them.
"""

from dataclasses import dataclass, field
from enum import StrEnum


class JobState(StrEnum):
    RESERVED = "reserved"  # routed, its reservation active
    RUNNING = "running"  # a start receipt
    FINISHED = "finished"
    FAILED = "failed"
    DECLINED = "declined"
    RELEASED = "released"  # given back by the caller (cancelled)
    EXPIRED = "expired"  # the reservation lapsed without a start


ENDED = frozenset({JobState.FINISHED, JobState.FAILED, JobState.DECLINED, JobState.RELEASED})


class IncidentKind(StrEnum):
    DECLINED = "declined"
    FAILED = "failed"
    TIMEOUT = "timeout"


# how a job ends, by release reason or receipt kind: its state, and the miner's incident if any
ENDINGS: dict[str, tuple[JobState, IncidentKind | None]] = {
    "declined": (JobState.DECLINED, IncidentKind.DECLINED),
    "failed": (JobState.FAILED, IncidentKind.FAILED),
    "timeout": (JobState.FAILED, IncidentKind.TIMEOUT),
    "cancelled": (JobState.RELEASED, None),
}


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job to route, as the caller asked for it."""

    job_uuid: str
    executor_class: str
    download_time_limit: int
    execution_time_limit: int
    upload_time_limit: int
    streaming_start_time_limit: int
    on_trusted_miner: bool

    @property
    def executor_seconds(self) -> int:
        return self.download_time_limit + self.execution_time_limit + self.upload_time_limit


@dataclass(slots=True)
class Miner:
    hotkey: str
    address: str
    port: int
    ip_version: int
    collateral_wei: int


@dataclass(slots=True)
class Manifest:
    hotkey: str
    executor_class: str
    online_executor_count: int
    executor_count: int
    observed_at: float
    arrival: int  # breaks ties between equal observed_at: later arrival is newer

    @property
    def recency(self) -> tuple[float, int]:
        return self.observed_at, self.arrival


@dataclass(slots=True)
class BlacklistEntry:
    hotkey: str
    reason: str
    created_at: float
    expires_at: float | None  # None: permanent

    def active(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at


@dataclass(slots=True)
class Allowance:
    hotkey: str
    cycle_start: int
    cycle_stop: int
    initial: float
    remaining: float

    @property
    def ratio(self) -> float:
        return self.remaining / self.initial if self.initial else 0.0


@dataclass(slots=True)
class Receipt:
    kind: str  # started | finished | declined | failed
    job_uuid: str
    hotkey: str
    executor_class: str
    timestamp: float
    ttl_s: float

    def counts_at(self, now: float) -> bool:
        return now < self.timestamp + self.ttl_s


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
class JobEvent:
    state: str
    at: float
    hotkey: str
    reason: str | None = None


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

    def __post_init__(self) -> None:  # loaded from JSON: events as dicts, the cycle as a list
        self.history = [e if isinstance(e, JobEvent) else JobEvent(**e) for e in self.history]
        self.hold_cycle = tuple(self.hold_cycle) if self.hold_cycle is not None else None


@dataclass(slots=True)
class Incident:
    kind: str  # IncidentKind
    hotkey: str
    job_uuid: str
    at: float


@dataclass(frozen=True, slots=True)
class MinerStatus:
    """One miner as `GET /miners` shows it: its facts and its slots per executor class."""

    miner: Miner
    blacklist: BlacklistEntry | None
    manifests: dict[str, Manifest]
    allowance: Allowance | None
    ongoing_jobs: dict[str, int]
    free_slots: dict[str, int]
    held_seconds: float = 0.0  # of the allowance, by reservations not yet started
    incidents: tuple[Incident, ...] = ()  # remembered ones, oldest first
    recent_incidents: int = 0  # inside the configured window
