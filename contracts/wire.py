"""Bodies that more than one service sends or receives. Pure.

Task routing (resolve, execute) between the coordinator and the organism,
plans between the coordinator and cognitive, health of all three. The same
models serve HTTP and DeploymentHandle calls, so a handle caller and an HTTP
caller are validated identically.
"""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.bounds import Identifier, JsonObject, NonBlank
from contracts.routing_table import ResolvedFrom

MAX_BULK_ITEMS = 1000


class RouteStatus(StrEnum):
    OK = "ok"
    NO_ACTIVE_INSTANCE = "no_active_instance"
    UNKNOWN_TYPE = "unknown_type"
    ERROR = "error"


class TaskSpec(BaseModel):
    type: NonBlank
    domain: Identifier | None = None
    params: JsonObject = Field(default_factory=dict)


class ResolveRouteRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"task": {"type": "graph_embed", "domain": "facts"}}]})
    task: TaskSpec
    preferred_logical_id: Identifier | None = None


class RouteResult(BaseModel):
    logical_id: str | None
    resolved_from: ResolvedFrom | None
    status: RouteStatus
    epoch: str
    instance_id: str | None = None
    cache_hit: bool = False
    cache_age_ms: float = 0.0
    error: str | None = None


class BulkRouteItem(BaseModel):
    """One item of a bulk request; a blank type is that item's error, not a 422."""

    key: Identifier | None = None
    type: Identifier = ""
    domain: Identifier | None = None
    preferred_logical_id: Identifier | None = None


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
    task_type: NonBlank
    domain: Identifier | None = None
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
    type: NonBlank
    domain: Identifier | None = None
    params: JsonObject = Field(default_factory=dict)


class PlanStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: StepTask


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    solution_steps: list[PlanStep] = Field(min_length=1, max_length=MAX_PLAN_STEPS)
    meta: dict[str, Any] = Field(default_factory=dict)
