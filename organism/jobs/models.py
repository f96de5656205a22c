"""HTTP bodies of job routing (`/organism/jobs`, miners, manifests, ...), and how
the picker's typed answers are shown in them."""

from dataclasses import asdict
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from contracts.bounds import (
    BLOCK_MAX,
    Address,
    AllowanceSeconds,
    BlockNumber,
    Count,
    DurationS,
    Flag,
    FreeText,
    Hotkey,
    Seconds,
    TtlS,
    UnixTime,
    WeiAmount,
)
from organism.jobs.dynamic_config import DEFAULT_EXECUTOR_CLASS, EXECUTOR_CLASS_SPIN_UP_S
from organism.jobs.records import MinerStatus

CycleBlock = Annotated[int, Field(strict=True, ge=-BLOCK_MAX, le=BLOCK_MAX)]  # a cycle may start before block 0


def _known_class(value: str) -> str:
    if value not in EXECUTOR_CLASS_SPIN_UP_S:
        raise ValueError(f"unknown executor class; known: {', '.join(sorted(EXECUTOR_CLASS_SPIN_UP_S))}")
    return value


ExecutorClass = Annotated[str, AfterValidator(_known_class)]


class JobRouteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    uuid: UUID
    executor_class: ExecutorClass = DEFAULT_EXECUTOR_CLASS
    download_time_limit: Seconds
    execution_time_limit: Seconds
    upload_time_limit: Seconds
    streaming_start_time_limit: Seconds = 0
    on_trusted_miner: Flag = False


class MinerAddressOut(BaseModel):
    hotkey: str
    address: str
    port: int
    ip_version: int


class JobRouteResponse(BaseModel):
    job_uuid: str
    miner: MinerAddressOut
    reason: Literal["selected", "debug_miner", "trusted_miner"]
    reservation_expires_at: float | None
    replayed: bool
    dry_run: bool = False
    explain: dict[str, Any]


class MinerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: Address
    port: int = Field(strict=True, ge=1, le=65535)
    ip_version: Literal[4, 6] = 4
    collateral_wei: WeiAmount = 0


class MinerOut(MinerIn):
    hotkey: str


class MinerStatusOut(MinerOut):
    blacklist: dict[str, Any] | None
    manifests: dict[str, dict[str, Any]]
    allowance: dict[str, Any] | None
    ongoing_jobs: dict[str, int]
    free_slots: dict[str, int]

    @classmethod
    def of(cls, status: MinerStatus) -> "MinerStatusOut":
        row = status.allowance
        return cls(
            **asdict(status.miner),
            blacklist=asdict(status.blacklist) if status.blacklist else None,
            manifests={
                c: {"online_executor_count": m.online_executor_count, "executor_count": m.executor_count, "observed_at": m.observed_at}
                for c, m in status.manifests.items()
            },
            allowance=None if row is None else {
                "cycle": {"start": row.cycle_start, "stop": row.cycle_stop}, "initial": row.initial, "remaining": row.remaining
            },
            ongoing_jobs=status.ongoing_jobs,
            free_slots=status.free_slots,
        )


class MinersOut(BaseModel):
    miners: list[MinerStatusOut]


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
    model_config = ConfigDict(extra="forbid")
    manifests: list[ManifestIn] = Field(min_length=1, max_length=10_000)


class BlacklistIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
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
    model_config = ConfigDict(extra="forbid")
    cycle: CycleIn
    allowances: list[AllowanceIn] = Field(min_length=1, max_length=10_000)


class ReceiptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["started", "finished"]
    job_uuid: UUID
    hotkey: Hotkey
    executor_class: ExecutorClass = DEFAULT_EXECUTOR_CLASS
    timestamp: UnixTime | None = Field(None, description="Unix seconds; default: arrival time")
    ttl_s: TtlS | None = None


class ChainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    block: BlockNumber


class ChainOut(BaseModel):
    reported_block: int
    reported_at: float
    current_block: int
    netuid: int
    cycle: dict[str, int]
