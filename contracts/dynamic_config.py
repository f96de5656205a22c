"""Dynamic configuration of job routing, executor classes included. Pure.

The seven `DYNAMIC_*` parameters of the seed with the original's defaults,
the debug and trusted-miner overrides, and what the job lifecycle adds: the
allowance held while routing (on by default; off restores the original's
check-only routing), the incident rule (N incidents in a window blacklist a
miner for a while; recent incidents demote it in the ranking), how old a
block report may be, the order candidates are tried in (the ranking, or
the spread: a weighted random shuffle), and the executor classes with their
spin-up times (the original's five by default). Changes arrive as a strict partial update
(`DynamicConfigPatch`, derived field by field from `DynamicConfig`):
unknown keys and wrong types are rejected, by field name.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model, field_validator

from contracts.bounds import SECONDS_MAX, WEI_MAX, Address, Hotkey, Port

ORIGINAL_EXECUTOR_CLASSES: dict[str, int] = {  # class -> spin-up seconds
    "spin_up-4min.gpu-24gb": 240,
    "always_on.gpu-24gb": 3,
    "always_on.llm.a6000": 30,
    "always_on.test": 3,
    "always_on.cpu.8c.16gb": 30,
}
DEFAULT_EXECUTOR_CLASS = "spin_up-4min.gpu-24gb"
MAX_EXECUTOR_CLASSES = 100

ConfigSeconds = Annotated[int, Field(ge=0, le=SECONDS_MAX)]
ConfigWei = Annotated[int, Field(ge=0, le=WEI_MAX)]
ExecutorClassName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


BLANK_MEANS_UNSET = ("DEBUG_MINER_KEY", "TRUSTED_MINER_HOTKEY", "TRUSTED_MINER_ADDRESS")


def _blank_is_unset(cls: type, value: Any) -> Any:
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
    # a pick holds the job's executor-seconds against the miner's allowance until it starts or ends
    DYNAMIC_HOLD_ALLOWANCE_WHILE_ROUTING: bool = True
    DYNAMIC_INCIDENT_WINDOW_SECONDS: ConfigSeconds = 3600
    DYNAMIC_INCIDENTS_TO_BLACKLIST: Annotated[int, Field(ge=0, le=10_000)] = 5  # 0: never blacklist automatically
    DYNAMIC_INCIDENT_BLACKLIST_SECONDS: ConfigSeconds = 1800
    DYNAMIC_DEMOTE_MINERS_WITH_INCIDENTS: bool = True
    DYNAMIC_MAX_BLOCK_REPORT_AGE_SECONDS: ConfigSeconds = 120  # 0: no limit
    # the order candidates are tried in: the scorers' ranking, or a reliability-weighted random
    # shuffle in proportion to allowance left (organism/jobs/spread.py) with its soft cutoff and steepness
    DYNAMIC_ROUTING_ORDER: Literal["deterministic", "spread"] = "deterministic"
    DYNAMIC_SPREAD_INCIDENT_CUTOFF: Annotated[float, Field(ge=0, le=10_000)] = 2.0  # recent incidents: reliability 1/2
    DYNAMIC_SPREAD_STEEPNESS: Annotated[float, Field(gt=0, le=100)] = 2.0
    EXECUTOR_CLASSES: dict[ExecutorClassName, ConfigSeconds] = Field(
        default_factory=lambda: dict(ORIGINAL_EXECUTOR_CLASSES), min_length=1, max_length=MAX_EXECUTOR_CLASSES
    )

    _unset_when_blank = field_validator(*BLANK_MEANS_UNSET, mode="before")(_blank_is_unset)

    def spin_up_s(self, executor_class: str) -> int | None:
        return self.EXECUTOR_CLASSES.get(executor_class)


NOT_NULLABLE = tuple(name for name, info in DynamicConfig.model_fields.items() if info.default is not None)


def _null_only_where_the_config_allows_it(cls: type, value: Any) -> Any:
    if value is None:
        raise ValueError("must not be null")
    return value


def _optional(info: Any) -> Any:
    """A field's type with its constraints, or None."""
    nullable = info.annotation | None
    return Annotated[(nullable, *info.metadata)] if info.metadata else nullable


# every key of DynamicConfig, optional: only the keys present change
DynamicConfigPatch: type[BaseModel] = create_model(
    "DynamicConfigPatch",
    __config__=ConfigDict(extra="forbid", strict=True),
    __doc__="A partial update of the dynamic configuration: only the keys present change.",
    __validators__={
        "_unset_when_blank": field_validator(*BLANK_MEANS_UNSET, mode="before")(_blank_is_unset),
        "_not_null": field_validator(*NOT_NULLABLE, mode="before")(_null_only_where_the_config_allows_it),
    },
    **{name: (_optional(info), None) for name, info in DynamicConfig.model_fields.items()},
)


def apply_patch(patch: BaseModel, config: DynamicConfig) -> DynamicConfig:
    """The config with the patch's keys changed; raises pydantic's ValidationError, by field name."""
    return DynamicConfig.model_validate({**config.model_dump(), **patch.model_dump(exclude_unset=True)})
