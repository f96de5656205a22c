"""HTTP bodies of job routing (`/organism/jobs`, miners, manifests, ...), and how
the picker's typed answers are shown in them."""

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.bounds import (
    BLOCK_MAX,
    Address,
    AllowanceSeconds,
    BlockNumber,
    Count,
    DurationS,
    FreeText,
    Hotkey,
    TtlS,
    UnixTime,
    WeiAmount,
)
from contracts.dynamic_config import DEFAULT_EXECUTOR_CLASS, ExecutorClassName
from contracts.jobs import MinerStatus
from organism.jobs import listing

CycleBlock = Annotated[int, Field(strict=True, ge=-BLOCK_MAX, le=BLOCK_MAX)]  # a cycle may start before block 0


# its format here; whether it is configured (dynamic config) the picker says, by field name
ExecutorClass = ExecutorClassName


class MinerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"address": "10.0.0.7", "port": 8000, "ip_version": 4, "collateral_wei": "20000000000000000"}]})
    address: Address
    port: int = Field(strict=True, ge=1, le=65535)
    ip_version: Literal[4, 6] = 4
    collateral_wei: WeiAmount = 0


class MinerOut(MinerIn):
    hotkey: str


class MinerStatusOut(MinerOut):
    blacklist: dict[str, Any] | None
    manifests: dict[str, dict[str, Any]]
    allowance: dict[str, Any] | None = Field(description="the current cycle's row; `held`: seconds reservations hold of it")
    ongoing_jobs: dict[str, int]
    free_slots: dict[str, int]
    recent_incidents: int = Field(description="incidents inside DYNAMIC_INCIDENT_WINDOW_SECONDS")
    incidents: list[dict[str, Any]] = Field(description="every remembered incident (24 h), oldest first")

    @classmethod
    def of(cls, status: MinerStatus) -> "MinerStatusOut":
        """Built without validation: every value comes from records the picker validated when they were
        written (validating a page of 1,000 again took 40 ms of the replica's loop)."""
        return cls.model_construct(**listing.status_document(status))


class MinersOut(BaseModel):
    miners: list[MinerStatusOut]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; null on the last")


class ManifestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hotkey: Hotkey
    executor_class: ExecutorClass
    online_executor_count: Count
    executor_count: Count
    observed_at: UnixTime | None = Field(None, description="Unix seconds; default: arrival time")

    @model_validator(mode="after")
    def _online_within_total(self) -> "ManifestIn":
        if self.online_executor_count > self.executor_count:
            raise ValueError("online_executor_count cannot exceed executor_count")
        return self


class ManifestsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"manifests": [{"hotkey": "miner-a", "executor_class": "always_on.test", "online_executor_count": 2, "executor_count": 2}]}]})
    manifests: list[ManifestIn] = Field(min_length=1, max_length=10_000)


class BlacklistIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "late results", "duration_s": 3600}]})
    reason: FreeText = ""
    duration_s: DurationS | None = Field(None, description="null: permanent")


class BlacklistOut(BaseModel):
    hotkey: str
    reason: str
    created_at: float
    expires_at: float | None


class CycleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: CycleBlock
    stop: CycleBlock

    @model_validator(mode="after")
    def _ordered(self) -> "CycleIn":
        if self.stop <= self.start:
            raise ValueError("stop must be greater than start")
        return self


class AllowanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hotkey: Hotkey
    initial: AllowanceSeconds = Field(ge=0)
    remaining: AllowanceSeconds


class AllowancesIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"cycle": {"start": -14, "stop": 708}, "allowances": [{"hotkey": "miner-a", "initial": 3600, "remaining": 3000}]}]})
    cycle: CycleIn
    allowances: list[AllowanceIn] = Field(min_length=1, max_length=10_000)


class ReceiptIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"kind": "started", "job_uuid": "7f8e9b2c-1d3a-4c5b-9e6f-0a1b2c3d4e5f", "hotkey": "miner-b", "executor_class": "always_on.test"}]})
    kind: Literal["started", "finished", "declined", "failed"]
    job_uuid: UUID
    hotkey: Hotkey
    executor_class: ExecutorClass = DEFAULT_EXECUTOR_CLASS
    timestamp: UnixTime | None = Field(None, description="Unix seconds; default: arrival time")
    ttl_s: TtlS | None = None


class ChainIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"block": 25}]})
    block: BlockNumber


class ChainOut(BaseModel):
    reported_block: int
    reported_at: float
    current_block: int
    netuid: int
    cycle: dict[str, int]


class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "declined"}]})
    reason: Literal["declined", "cancelled", "failed", "timeout"]


class JobEventOut(BaseModel):
    state: str
    at: float
    hotkey: str
    reason: str | None


class JobMinerOut(BaseModel):
    hotkey: str
    address: str | None = Field(description="null once the miner is deregistered")
    port: int | None
    ip_version: int | None


class JobOut(BaseModel):
    job_uuid: str
    owner: str = Field(description="the service that routed it: only it, or an admin, may release it")
    state: Literal["reserved", "running", "finished", "failed", "declined", "released", "expired"]
    miner: JobMinerOut
    executor_class: str
    executor_seconds: int
    routed_at: float
    reservation_expires_at: float | None
    allowance_held: bool
    allowance_deducted: bool
    declined_by: list[str] = Field(description="miners a new pick of this uuid passes over")
    history: list[JobEventOut]


class JobsOut(BaseModel):
    jobs: list[JobOut]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; null on the last")


class ReportOutcomeOut(BaseModel):
    kind: Literal["selected", "replayed", "debug_miner", "trusted_miner", "refused"]
    hotkey: str | None = Field(description="the miner chosen (or replayed to)")
    slot: int | None = Field(description="the executor slot claimed; null when nothing was booked")
    reservation_expires_at: float | None
    refusal: dict[str, str] | None = Field(description="`type` and `message` of the refusal")


class VerdictOut(BaseModel):
    filter: str
    passed: bool
    reason: str | None


class JudgedMinerOut(BaseModel):
    hotkey: str
    rank: int | None = Field(description="place in the ranking, 0 first; null when a candidate filter rejected it")
    chosen: bool
    scores: dict[str, int | float] | None = Field(description="the ranking's inputs, lower first, by scorer (collateral in wei, exact)")
    verdicts: list[VerdictOut] = Field(description="each filter that ran on it, in order; the first refusal ends it")


class RoutingReportOut(BaseModel):
    job_uuid: str
    owner: str
    decided_at: float
    control_version: int | None = Field(description="the control-plane version the asking replica had applied")
    block: int | None
    dry_run: bool
    request: dict[str, Any]
    outcome: ReportOutcomeOut
    miners: int = Field(description="registered miners")
    judged: int = Field(description="miners with a manifest of the job's class")
    rejected: dict[str, int] = Field(description="miners rejected, by filter")
    compact: bool = Field(description="more than 20 miners judged: the top 10 of the ranking and the chosen one only")
    omitted: int = Field(description="judged miners a compact report leaves out")
    candidates: list[JudgedMinerOut]


class JobReportsOut(BaseModel):
    job_uuid: str
    reports: list[RoutingReportOut] = Field(description="one per pick of this uuid (replays and re-routes too), newest first")


class TraceOut(BaseModel):
    header: dict[str, Any] = Field(description="a trace file's first line: `{\"trace\": \"routing-jobs\", \"version\": 1}`")
    events: list[dict[str, Any]] = Field(description="trace lines (`kind`, `at`, its fields), oldest first")
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; null on the last")
