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


class AlertOut(BaseModel):
    name: str = Field(description="the Prometheus rule's name (k8s/monitoring/prometheus-rules.yaml)")
    severity: str
    summary: str


class RouteStatsOut(BaseModel):
    """One replica's window of recent routes (`coordinator.route_tally`) and the alerts it would fire."""

    replica: str
    answers: int = Field(description="routes answered from the cache or remote, in the window")
    window: int
    cache_hit_ratio: float | None
    cache_entries: int
    remote_calls: int
    remote_failures: int
    remote_p95_ms: float | None
    remote_latencies: int = Field(description="how many remote calls the p95 is of")
    breaker: str = Field(description="closed, half_open or open")
    alerts: list[AlertOut]
