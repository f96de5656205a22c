"""What the runtime registry tells OrganismManager replicas, typed. Pure.

A `RegistryView` (epoch, editable rules, refresh generation) is versioned by
the registry's boot and a generation counter. Replicas long-poll for views;
`is_older_than` says whether a view that arrived late must be ignored (only
a view of the same boot can be older: a restarted registry starts anew).
The other answers of the registry's admin calls are here too.
"""

from dataclasses import dataclass

from contracts.routing_table import FieldProblem, Rule
from organism.tasks.registry_state import Instance


@dataclass(frozen=True, slots=True)
class ViewVersion:
    boot: str
    generation: int


@dataclass(frozen=True, slots=True)
class RegistryView:
    version: ViewVersion
    epoch: str
    rules: tuple[Rule, ...]
    refresh_generation: int

    def is_older_than(self, other: "RegistryView") -> bool:
        return self.version.boot == other.version.boot and self.version.generation < other.version.generation

    def asks_to_clear_since(self, other: "RegistryView") -> bool:
        """A refresh was requested (or the registry restarted) since `other`."""
        return (self.version.boot, self.refresh_generation) != (other.version.boot, other.refresh_generation)


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
