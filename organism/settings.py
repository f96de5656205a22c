"""Settings of the organism: from application args in serve_config.yaml,
then `ORGANISM_*` environment variables, then these defaults."""

from pathlib import Path

from pydantic import Field, PositiveFloat
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.actor_names import organ_actor_name
from contracts.chain import MAX_NETUID
from contracts.routing_table import ACTUATOR_ORGAN, GRAPH_DISPATCHER, UTILITY_ORGAN


class OrganismSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORGANISM_", extra="forbid")

    namespace: str = Field("routing", min_length=1)
    state_dir: Path = Path.home() / ".routing-control-plane"
    registry_actor_name: str = "runtime_registry"
    organs: dict[str, int] = Field(
        default_factory=lambda: {UTILITY_ORGAN: 1, ACTUATOR_ORGAN: 1, GRAPH_DISPATCHER: 1}
    )
    heartbeat_interval_s: PositiveFloat = 3.0
    heartbeat_jitter_s: float = Field(2.0, ge=0)
    heartbeat_timeout_s: PositiveFloat = 15.0
    instance_cache_ttl_s: PositiveFloat = 3.0
    registry_call_timeout_s: PositiveFloat = 2.0
    organ_call_timeout_s: PositiveFloat = 10.0
    picker_actor_name: str = "miner_picker"
    picker_call_timeout_s: PositiveFloat = 10.0
    # the cycle arithmetic (`jobs.chain`) matches the original's for these netuids only
    netuid: int = Field(12, ge=0, le=MAX_NETUID)
    # On a multi-node cluster, a custom resource only the node with the state volume
    # advertises (KubeRay: the head); the registry and picker actors require it.
    state_resource: str | None = None

    def state_actor_resources(self) -> dict[str, float]:
        return {self.state_resource: 0.001} if self.state_resource else {}

    @property
    def state_path(self) -> Path:
        """Where SQLite keeps the state when no PostgreSQL DSN is configured (`organism.state.locate`)."""
        return self.state_dir.expanduser().resolve()

    def organ_actor_names(self) -> dict[str, str]:
        """Actor name -> logical id, one per configured organ instance."""
        return {
            organ_actor_name(logical_id, index): logical_id
            for logical_id, count in self.organs.items()
            for index in range(count)
        }
