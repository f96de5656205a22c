"""HTTP bodies of job routing (`/organism/jobs`, miners, manifests, ...), and how
the picker's typed answers are shown in them."""

from dataclasses import asdict
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from organism.jobs.dynamic_config import DEFAULT_EXECUTOR_CLASS, EXECUTOR_CLASS_SPIN_UP_S
from organism.jobs.records import MinerStatus

NonNegativeInt = Annotated[int, Field(ge=0)]
Hotkey = Annotated[str, Field(min_length=1, max_length=128)]


def _wei(value: Any) -> Any:
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError("wei must be an integer or a decimal string (a float loses precision)")
    if isinstance(value, str):
        if not value.strip().isdigit():
            raise ValueError("wei must be a non-negative decimal integer string")
        return int(value.strip())
    return value


def _known_class(value: str) -> str:
    if value not in EXECUTOR_CLASS_SPIN_UP_S:
        raise ValueError(f"unknown executor class; known: {', '.join(sorted(EXECUTOR_CLASS_SPIN_UP_S))}")
    return value


WeiAmount = Annotated[int, BeforeValidator(_wei), Field(ge=0), PlainSerializer(str, return_type=str, when_used="json")]
ExecutorClass = Annotated[str, AfterValidator(_known_class)]


class JobRouteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    uuid: UUID
    executor_class: ExecutorClass = DEFAULT_EXECUTOR_CLASS
    download_time_limit: NonNegativeInt
    execution_time_limit: NonNegativeInt
    upload_time_limit: NonNegativeInt
    streaming_start_time_limit: NonNegativeInt = 0
    on_trusted_miner: bool = False


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
    address: str = Field(min_length=1, max_length=255)
    port: int = Field(ge=1, le=65535)
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
    online_executor_count: NonNegativeInt
    executor_count: NonNegativeInt
    observed_at: float | None = Field(None, allow_inf_nan=False, description="Unix seconds; default: arrival time")

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
    reason: str = Field("", max_length=500)
    duration_s: float | None = Field(None, gt=0, allow_inf_nan=False, description="null: permanent")


class BlacklistOut(BaseModel):
    hotkey: str
    reason: str
    created_at: float
    expires_at: float | None


class CycleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: int
    stop: int

    @model_validator(mode="after")
    def _ordered(self) -> "CycleIn":
        if self.stop <= self.start:
            raise ValueError("stop must be greater than start")
        return self


class AllowanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hotkey: Hotkey
    initial: float = Field(ge=0, allow_inf_nan=False)
    remaining: float = Field(allow_inf_nan=False)


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
    timestamp: float | None = Field(None, allow_inf_nan=False, description="Unix seconds; default: arrival time")
    ttl_s: float | None = Field(None, gt=0, allow_inf_nan=False)


class ChainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    block: NonNegativeInt


class ChainOut(BaseModel):
    reported_block: int
    reported_at: float
    current_block: int
    netuid: int
    cycle: dict[str, int]
