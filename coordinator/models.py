"""Wire models of the coordinator's own routes (`/pipeline`). Pure."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.bounds import Domain, Flag, JsonObject, OptionalId, TaskType


class TaskRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"type": "graph_rag_query_v2", "domain": "facts"}]})
    type: TaskType
    domain: Domain = None
    params: JsonObject = Field(default_factory=dict)
    preferred_logical_id: OptionalId = None
    drift_score: float | None = Field(None, ge=0, le=1e6, allow_inf_nan=False)
    escalate: Flag = False


class RoutedStep(BaseModel):
    """Where a step goes and how that was decided."""

    type: str
    domain: str | None
    logical_id: str
    route_source: str
    resolved_from: str
    status: str


class StepOutcome(RoutedStep):
    result: dict[str, Any] | None = None
    executed_via: str | None = None
    error: str | None = None


class TaskResponse(BaseModel):
    task_id: str
    decision: str
    steps: list[StepOutcome]
    correlation_id: str
    plan: dict[str, Any] | None = None


class RouteRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"type": "graph_embed", "domain": "facts"}]})
    type: TaskType
    domain: Domain = None
    preferred_logical_id: OptionalId = None


class RouteResponse(RoutedStep):
    epoch: str | None = None
