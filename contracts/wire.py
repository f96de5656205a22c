"""Bodies that more than one service sends or receives, and the handle calls that carry them. Pure.

Task routing (resolve, execute) between the coordinator and the organism,
plans between the coordinator and cognitive, a job's pick (HTTP, the CLI, a
handle), health of all three. The same
models serve HTTP and DeploymentHandle calls, so a handle caller and an HTTP
caller are validated identically; `OrganismHandle` and `PlannerHandle` are
the methods other deployments call through a DeploymentHandle.
"""

from enum import StrEnum
from typing import Any, Literal, Protocol
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.bounds import (
    Domain,
    Flag,
    Identifier,
    JsonObject,
    NonBlank,
    OptionalId,
    Seconds,
    TaskType,
    TaskTypeOrBlank,
)
from contracts.dynamic_config import DEFAULT_EXECUTOR_CLASS, ExecutorClassName
from contracts.identity import Caller
from contracts.routing_table import ResolvedFrom

MAX_BULK_ITEMS = 1000


class RouteStatus(StrEnum):
    OK = "ok"
    NO_ACTIVE_INSTANCE = "no_active_instance"
    UNKNOWN_TYPE = "unknown_type"
    ERROR = "error"


class TaskSpec(BaseModel):
    type: TaskType
    domain: Domain = None
    params: JsonObject = Field(default_factory=dict)


class ResolveRouteRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"task": {"type": "graph_embed", "domain": "facts"}}]})
    task: TaskSpec
    preferred_logical_id: OptionalId = None


class RouteResult(BaseModel):
    logical_id: str | None
    resolved_from: ResolvedFrom | None
    status: RouteStatus
    epoch: str
    instance_id: str | None = None
    cache_hit: bool = False
    cache_age_ms: float = 0.0
    error: str | None = None
    explain: dict[str, Any] | None = Field(None, description="with `explain=true`: the rule that matched, each instance"
                                                             " considered with its checks' verdicts, the one chosen")


class BulkRouteItem(BaseModel):
    """One item of a bulk request; a blank type is that item's error, not a 422."""

    key: Identifier | None = None
    type: TaskTypeOrBlank = ""
    domain: Domain = None
    preferred_logical_id: OptionalId = None


class ResolveRoutesRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"tasks": [{"key": "graph_embed|facts", "type": "graph_embed", "domain": "facts"}]}]})
    tasks: list[BulkRouteItem] = Field(max_length=MAX_BULK_ITEMS)


class BulkRouteResult(RouteResult):
    key: str | None = None


class ResolveRoutesResponse(BaseModel):
    epoch: str
    results: list[BulkRouteResult]


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task_type: TaskType
    domain: Domain = None
    logical_id: NonBlank


class ExecuteRequest(BaseModel):
    logical_id: NonBlank
    task: TaskSpec


class ExecuteResponse(BaseModel):
    logical_id: str
    instance_id: str
    epoch: str
    result: dict[str, Any]


class Health(BaseModel):
    status: str
    epoch: str | None = None
    detail: str | None = None


MAX_PLAN_STEPS = 16


class PlanRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"task": {"type": "graph_rag_query_v2", "domain": "facts"}}]})
    task: TaskSpec


class StepTask(BaseModel):
    """An abstract step: what to do, never who does it."""

    model_config = ConfigDict(extra="forbid")
    type: TaskType
    domain: Domain = None
    params: JsonObject = Field(default_factory=dict)


class PlanStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: StepTask


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    solution_steps: list[PlanStep] = Field(min_length=1, max_length=MAX_PLAN_STEPS)
    meta: dict[str, Any] = Field(default_factory=dict)


class JobRouteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"uuid": "7f8e9b2c-1d3a-4c5b-9e6f-0a1b2c3d4e5f", "executor_class": "always_on.test", "download_time_limit": 10, "execution_time_limit": 60, "upload_time_limit": 10, "streaming_start_time_limit": 5, "on_trusted_miner": False}]})
    uuid: UUID
    executor_class: ExecutorClassName = DEFAULT_EXECUTOR_CLASS  # its format; whether it is configured, the picker says
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


class OrganismHandle(Protocol):
    """What other deployments call on the OrganismManager through a DeploymentHandle."""

    async def resolve_route(self, request: ResolveRouteRequest, caller: Caller | None = None) -> RouteResult: ...

    async def resolve_routes(self, request: ResolveRoutesRequest, caller: Caller | None = None) -> ResolveRoutesResponse: ...

    async def execute(self, request: ExecuteRequest, caller: Caller | None = None) -> ExecuteResponse: ...

    async def route_job(self, request: JobRouteRequest, dry_run: bool = False) -> JobRouteResponse: ...


class PlannerHandle(Protocol):
    """What the coordinator calls on Cognitive through a DeploymentHandle."""

    async def plan_task(self, request: PlanRequest, caller: Caller | None = None) -> Plan: ...
