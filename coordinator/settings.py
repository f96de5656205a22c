"""Coordinator settings and the contract's feature flags. Pure.

The flags (`RoutingFlags`) keep their contract names as environment variables:
`ROUTING_REMOTE` (default false), `ROUTING_REMOTE_TYPES`, `ROUTE_CACHE_TTL_S`,
`ROUTE_CACHE_JITTER_S`. The shipped serve_config.yaml does not set them, so
the environment decides; a deployment's `user_config` (same names, lower
case) changes them on a running cluster without restarting a replica
(`Coordinator.reconfigure`). Every other setting comes from the
application's args in serve_config.yaml, then the environment, then defaults.
"""

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from contracts.bounds import TaskType
from contracts.wire import RuleIn


def _comma_items(value: Any) -> Any:
    """A comma list (or a list) of task types; blank items are dropped."""
    items = value.split(",") if isinstance(value, str) else value
    return [item for item in items if not isinstance(item, str) or item.strip()]


CommaList = Annotated[frozenset[TaskType], NoDecode, BeforeValidator(_comma_items)]


class RoutingFlags(BaseModel):
    model_config = ConfigDict(extra="forbid")

    routing_remote: bool = False
    routing_remote_types: CommaList = frozenset(
        {"graph_embed", "graph_rag_query", "graph_embed_v2", "graph_rag_query_v2"}
    )
    route_cache_ttl_s: PositiveFloat = 3.0
    route_cache_jitter_s: NonNegativeFloat = 0.5

    @field_validator("route_cache_jitter_s")
    @classmethod
    def _jitter_below_ttl(cls, jitter: float, info: Any) -> float:
        ttl = info.data.get("route_cache_ttl_s")
        if ttl is not None and jitter >= ttl:
            raise ValueError("must be smaller than route_cache_ttl_s")
        return jitter

    def remote_enabled_for(self, task_type: str) -> bool:
        return self.routing_remote and task_type in self.routing_remote_types

    def changed_by(self, user_config: dict[str, Any]) -> "RoutingFlags":
        """These flags with a deployment's `user_config` on top (validated whole)."""
        return RoutingFlags.model_validate({**self.model_dump(), **user_config})


class CoordinatorSettings(RoutingFlags, BaseSettings):
    model_config = SettingsConfigDict(extra="forbid", case_sensitive=False)

    route_cache_max_entries: PositiveInt = 10_000
    route_cache_stale_s: NonNegativeFloat = 5.0  # a lapsed entry may answer this long while it is refreshed
    route_single_timeout_s: PositiveFloat = 0.05  # the budget's floor; it follows the organism's latency
    route_bulk_timeout_s: PositiveFloat = 0.1
    route_budget_ceiling_s: PositiveFloat = 0.5
    miss_window_s: NonNegativeFloat = 0.002  # concurrent misses within it go out as one bulk call
    miss_max_batch: PositiveInt = 100
    breaker_error_threshold: PositiveInt = 5
    breaker_open_s: PositiveFloat = 5.0
    breaker_window_s: PositiveFloat = 10.0
    breaker_min_calls: PositiveInt = 20
    breaker_timeout_ratio: float = Field(0.5, gt=0, le=1)
    static_rules: list[RuleIn] = Field(default_factory=list)
    multi_step_types: CommaList = frozenset({"graph_rag_query_v2"})
    drift_allowance: NonNegativeFloat = 0.1
    drift_threshold: PositiveFloat = 0.5
    max_inflight_escalations: PositiveInt = 32
    organism_app: str = "organism"
    cognitive_app: str = "cognitive"
    organ_namespace: str = "routing"  # the organism's actors: its registry and organs
    registry_actor_name: str = "runtime_registry"
    plan_timeout_s: PositiveFloat = 2.0
    execute_timeout_s: PositiveFloat = 5.0

    def flags(self) -> RoutingFlags:
        return RoutingFlags.model_validate(self.model_dump(include=set(RoutingFlags.model_fields)))
