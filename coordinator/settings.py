"""Coordinator settings and feature flags. Pure.

The contract's flags keep their names as environment variables
(`ROUTING_REMOTE`, `ROUTING_REMOTE_TYPES`, `ROUTE_CACHE_TTL_S`,
`ROUTE_CACHE_JITTER_S`); every setting can also be given as an application
arg in serve_config.yaml under its lower-case name. Args win over the
environment, which wins over the defaults.
"""

from typing import Annotated, Any

from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from contracts.normalize import normalize_type
from contracts.wire import RuleIn

CommaList = Annotated[frozenset[str], NoDecode]


class CoordinatorSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="forbid", case_sensitive=False)

    routing_remote: bool = False
    routing_remote_types: CommaList = frozenset(
        {"graph_embed", "graph_rag_query", "graph_embed_v2", "graph_rag_query_v2"}
    )
    route_cache_ttl_s: PositiveFloat = 3.0
    route_cache_jitter_s: NonNegativeFloat = 0.5
    route_cache_max_entries: PositiveInt = 10_000
    route_single_timeout_s: PositiveFloat = 0.05
    route_bulk_timeout_s: PositiveFloat = 0.1
    breaker_failure_threshold: PositiveInt = 5
    breaker_open_s: PositiveFloat = 30.0
    static_rules: list[RuleIn] = Field(default_factory=list)
    multi_step_types: CommaList = frozenset({"graph_rag_query_v2"})
    drift_allowance: NonNegativeFloat = 0.1
    drift_threshold: PositiveFloat = 0.5
    max_inflight_escalations: PositiveInt = 32
    organism_app: str = "organism"
    cognitive_app: str = "cognitive"
    organ_namespace: str = "routing"
    plan_timeout_s: PositiveFloat = 2.0
    execute_timeout_s: PositiveFloat = 5.0

    @field_validator("routing_remote_types", "multi_step_types", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        items = value.split(",") if isinstance(value, str) else value
        return frozenset(normalize_type(item) for item in items if normalize_type(item))

    @field_validator("route_cache_jitter_s")
    @classmethod
    def _jitter_below_ttl(cls, jitter: float, info: Any) -> float:
        ttl = info.data.get("route_cache_ttl_s")
        if ttl is not None and jitter >= ttl:
            raise ValueError("must be smaller than route_cache_ttl_s")
        return jitter

    def remote_enabled_for(self, task_type: str) -> bool:
        return self.routing_remote and task_type in self.routing_remote_types
