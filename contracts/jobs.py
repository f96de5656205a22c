"""Job routing's vocabulary: what a replica, the picker actor, the CLI and the simulator agree on. Pure.

A job request (`JobSpec`); the facts a pick reads: miners, the latest
manifest per (miner, executor class), blacklist entries, allowance rows per
(miner, cycle), receipts, incidents; and the picker's answers: a routed job
(`JobRouted`, with its `Explain`), a job as the read routes show it
(`JobView`, with its `JobState` and `JobEvent`s) and a miner's status
(`MinerStatus`). A refusal is a `contracts.refusals.Refusal`.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from contracts.job_reports import RoutingReport
from contracts.pickling import compact


class JobState(StrEnum):
    RESERVED = "reserved"  # routed, its reservation active
    RUNNING = "running"  # a start receipt
    FINISHED = "finished"
    FAILED = "failed"
    DECLINED = "declined"
    RELEASED = "released"  # given back by the caller (cancelled)
    EXPIRED = "expired"  # the reservation lapsed without a start


class IncidentKind(StrEnum):
    DECLINED = "declined"
    FAILED = "failed"
    TIMEOUT = "timeout"


@compact
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
    caller: str = ""  # the service (token subject) asking: the job's owner when it is first routed
    caller_is_admin: bool = False
    control_version: int | None = None  # the control-plane version the asking replica had applied

    @property
    def executor_seconds(self) -> int:
        return self.download_time_limit + self.execution_time_limit + self.upload_time_limit


@compact
@dataclass(frozen=True, slots=True)
class MinerAddress:
    hotkey: str
    address: str
    port: int
    ip_version: int


@compact
@dataclass(slots=True)
class Miner:
    hotkey: str
    address: str
    port: int
    ip_version: int
    collateral_wei: int

    def contact(self) -> MinerAddress:
        return MinerAddress(self.hotkey, self.address, self.port, self.ip_version)


@compact
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


@compact
@dataclass(slots=True)
class BlacklistEntry:
    hotkey: str
    reason: str
    created_at: float
    expires_at: float | None  # None: permanent

    def active(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at


@compact
@dataclass(slots=True)
class Allowance:
    hotkey: str
    cycle_start: int
    cycle_stop: int
    initial: float
    remaining: float


@compact
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


@compact
@dataclass(slots=True)
class Incident:
    kind: str  # IncidentKind
    hotkey: str
    job_uuid: str
    at: float
    reported_by: str = ""  # the caller whose release or receipt it came from


@compact
@dataclass(slots=True)
class JobEvent:
    state: str
    at: float
    hotkey: str
    reason: str | None = None


@compact
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


@compact
@dataclass(frozen=True, slots=True)
class JobView:
    job_uuid: str
    owner: str  # the service that routed it ("" for a job routed before owners were kept)
    state: str
    hotkey: str
    miner: MinerAddress | None  # None once the miner is deregistered
    executor_class: str
    executor_seconds: int
    routed_at: float
    reservation_expires_at: float | None  # while reserved
    allowance_held: bool  # its executor-seconds held against the miner's allowance now
    allowance_deducted: bool
    declined_by: tuple[str, ...]
    history: tuple[JobEvent, ...]


JobCursor = tuple[float, str]  # (routed_at, job uuid) of the last job of a page


@dataclass
class Explain:
    """Why a pick went the way it did: counts per filter; the ranking, each ranked miner's scores and
    each passed-over miner's filter and reason (a dry run: every miner; a pick: as much as its routing
    report keeps, `organism.jobs.report`); and a dry run's routing report."""

    miners: int = 0
    candidates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    remaining_s: int | None = None
    required_s: int | None = None
    ranking: list[str] = field(default_factory=list)
    rejections: dict[str, tuple[str, str]] = field(default_factory=dict)  # hotkey -> (filter, reason)
    scores: dict[str, tuple[float, ...]] = field(default_factory=dict)  # hotkey -> its scores, in `scorers` order
    scorers: tuple[str, ...] = ()
    judged: int = 0  # miners with a manifest of the job's class
    walked: int = 0  # ranked candidates the slot filters ran on
    report: RoutingReport | None = None  # a dry run's

    @property
    def reasons(self) -> dict[str, str]:
        """hotkey -> "filter: reason" of each passed-over miner."""
        return {hotkey: f"{name}: {reason}" for hotkey, (name, reason) in self.rejections.items()}

    def as_dict(self, with_ranking: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "miners": self.miners,
            "candidates": self.candidates,
            "rejected": dict(self.rejected),
            "cycle_seconds_left": self.remaining_s,
            "required_seconds": self.required_s,
        }
        if with_ranking:
            body["ranking"] = self.ranking
            body["reasons"] = self.reasons
            body["scores"] = {hotkey: dict(zip(self.scorers, scores, strict=True)) for hotkey, scores in self.scores.items()}
            if self.report is not None:
                body["report"] = self.report.as_dict()
        return body


@compact
@dataclass(frozen=True, slots=True)
class JobRouted:
    job_uuid: str
    miner: MinerAddress
    reason: str  # selected | debug_miner | trusted_miner
    reservation_expires_at: float | None
    replayed: bool
    dry_run: bool
    explain: Explain
