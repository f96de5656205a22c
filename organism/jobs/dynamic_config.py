"""Dynamic configuration of job routing and the executor classes. Pure.

The seven `DYNAMIC_*` parameters of the seed, with the original's defaults,
plus the debug and trusted-miner overrides. Changes arrive as a strict
partial update: unknown keys and wrong types are rejected.
"""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.bounds import SECONDS_MAX, WEI_MAX, Address, Hotkey, Port

EXECUTOR_CLASS_SPIN_UP_S: dict[str, int] = {
    "spin_up-4min.gpu-24gb": 240,
    "always_on.gpu-24gb": 3,
    "always_on.llm.a6000": 30,
    "always_on.test": 3,
    "always_on.cpu.8c.16gb": 30,
}
DEFAULT_EXECUTOR_CLASS = "spin_up-4min.gpu-24gb"

ConfigSeconds = Annotated[int, Field(ge=0, le=SECONDS_MAX)]
ConfigWei = Annotated[int, Field(ge=0, le=WEI_MAX)]


def _blank_is_unset(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class DynamicConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING: bool = True
    DYNAMIC_ALLOW_CROSS_CYCLE_ORGANIC_JOBS: bool = True
    DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI: ConfigWei = 10**16
    DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS: ConfigSeconds = 10
    DYNAMIC_ORGANIC_JOB_ALLOWED_LEEWAY_TIME: ConfigSeconds = 5
    DYNAMIC_EXECUTOR_RESERVATION_TIME_LIMIT: ConfigSeconds = 7
    DYNAMIC_EXECUTOR_STARTUP_TIME_LIMIT: ConfigSeconds = 5
    DEBUG_MINER_KEY: Hotkey | None = None
    TRUSTED_MINER_HOTKEY: Hotkey | None = None
    TRUSTED_MINER_ADDRESS: Address | None = None
    TRUSTED_MINER_PORT: Port | None = None

    @field_validator("DEBUG_MINER_KEY", "TRUSTED_MINER_HOTKEY", "TRUSTED_MINER_ADDRESS", mode="before")
    @classmethod
    def _unset_when_blank(cls, value: Any) -> Any:
        return _blank_is_unset(value)


NOT_NULLABLE = tuple(name for name, info in DynamicConfig.model_fields.items() if info.default is not None)


class DynamicConfigPatch(BaseModel):
    """A partial update: only the keys present change."""

    model_config = ConfigDict(extra="forbid", strict=True)

    DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING: bool | None = None
    DYNAMIC_ALLOW_CROSS_CYCLE_ORGANIC_JOBS: bool | None = None
    DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI: ConfigWei | None = None
    DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS: ConfigSeconds | None = None
    DYNAMIC_ORGANIC_JOB_ALLOWED_LEEWAY_TIME: ConfigSeconds | None = None
    DYNAMIC_EXECUTOR_RESERVATION_TIME_LIMIT: ConfigSeconds | None = None
    DYNAMIC_EXECUTOR_STARTUP_TIME_LIMIT: ConfigSeconds | None = None
    DEBUG_MINER_KEY: Hotkey | None = None
    TRUSTED_MINER_HOTKEY: Hotkey | None = None
    TRUSTED_MINER_ADDRESS: Address | None = None
    TRUSTED_MINER_PORT: Port | None = None

    @field_validator("DEBUG_MINER_KEY", "TRUSTED_MINER_HOTKEY", "TRUSTED_MINER_ADDRESS", mode="before")
    @classmethod
    def _unset_when_blank(cls, value: Any) -> Any:
        return _blank_is_unset(value)

    @field_validator(*NOT_NULLABLE, mode="before")
    @classmethod
    def _null_only_where_the_config_allows_it(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null")
        return value

    def apply_to(self, config: DynamicConfig) -> DynamicConfig:
        changes = self.model_dump(exclude_unset=True)
        return DynamicConfig.model_validate({**config.model_dump(), **changes})
