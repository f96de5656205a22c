"""The runtime registry's typed answers to admin calls. Pure.

Its feed of changes (`RegistryView`, `RegistryUpdate`) is in
`contracts.registry_feed`, since the coordinator follows it too.
"""

from dataclasses import dataclass

from contracts.registry_feed import RegistryView
from contracts.routing_table import FieldProblem
from organism.tasks.registry_state import Instance


@dataclass(frozen=True, slots=True)
class RuleChange:
    """The view after an applied change, or the problems of a refused one (nothing applied)."""

    view: RegistryView | None
    problems: tuple[FieldProblem, ...] = ()


@dataclass(frozen=True, slots=True)
class EpochRotation:
    previous_epoch: str
    view: RegistryView


@dataclass(frozen=True, slots=True)
class InstanceReport:
    instance: Instance
    active: bool


@dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    epoch: str
    heartbeat_timeout_s: float
    instances: tuple[InstanceReport, ...]
