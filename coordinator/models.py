"""Wire models of the coordinator's own routes (`/pipeline`). Pure."""

from typing import Any

from pydantic import BaseModel, Field

from contracts.wire import NonBlank, ShortText


class TaskRequest(BaseModel):
    type: NonBlank
    domain: ShortText | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    preferred_logical_id: ShortText | None = None
    drift_score: float | None = Field(None, ge=0, le=1e6)
    escalate: bool = False


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
    type: NonBlank
    domain: ShortText | None = None
    preferred_logical_id: ShortText | None = None


class RouteResponse(RoutedStep):
    epoch: str | None = None
