"""The runtime registry as its callers see it: the actor's typed interface and its answers. Pure.

`Registry` is what an OrganismManager replica calls (views, lookups, admin
changes, the audit trail); `OrganRegistry` what an organ calls (register,
heartbeat, status, the feed); `RegistryReader` what the coordinator calls (the
feed and active-instance lookups). The actor (`organism.tasks.registry_actor`)
implements all three; replicas reach it through `servekit.actors` and tests
through the in-process adapter, so no caller names a method by a string.
The feed's own types (`RegistryView`, `RegistryUpdate`) are in
`contracts.registry_feed`.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from contracts.audit import AuditPage, AuditStamp
from contracts.pickling import compact
from contracts.refusals import Refusal
from contracts.registry_feed import RegistryUpdate, RegistryView, Subscriber, ViewVersion
from contracts.routing_table import RouteKey, Rule


class InstanceStatus(StrEnum):
    STARTING = "starting"
    ALIVE = "alive"
    DRAINING = "draining"
    DEAD = "dead"


@compact
@dataclass(slots=True)
class Instance:
    instance_id: str
    logical_id: str
    epoch: str
    status: InstanceStatus
    actor_name: str
    node_id: str | None
    started_at: float
    last_heartbeat: float


@compact
@dataclass(frozen=True, slots=True)
class ActiveInstance:
    instance_id: str
    actor_name: str


@compact
@dataclass(frozen=True, slots=True)
class HeartbeatReply:
    """What an organ learns from a heartbeat: re-register when not `registered`."""

    epoch: str
    registered: bool


@compact
@dataclass(frozen=True, slots=True)
class InstanceReport:
    instance: Instance
    active: bool


@compact
@dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    epoch: str
    heartbeat_timeout_s: float
    instances: tuple[InstanceReport, ...]


@compact
@dataclass(frozen=True, slots=True)
class EpochRotation:
    previous_epoch: str
    view: RegistryView


@compact
@dataclass(frozen=True, slots=True)
class SubscriberReport:
    """One follower of the feed, as `GET /organism/control-plane` shows it."""

    name: str
    kind: str  # organism | coordinator | organ
    applied: int  # the control-plane version it has applied
    lag_versions: int
    lag_s: float  # how long it has been behind (0 when it is not)
    seen_s_ago: float


@compact
@dataclass(frozen=True, slots=True)
class ControlPlane:
    version: int
    subscribers: tuple[SubscriberReport, ...]


class RegistryReader(Protocol):
    async def watch(self, known: ViewVersion, timeout_s: float, subscriber: Subscriber | None = None) -> RegistryUpdate:
        """Answer once there is a version newer than `known` (or at timeout); `subscriber` says who
        asks and which control-plane version it has applied (its acknowledgement)."""

    async def active_instance(self, logical_id: str) -> ActiveInstance | None: ...

    async def view(self) -> RegistryView: ...


class OrganRegistry(Protocol):
    async def register(self, instance_id: str, logical_id: str, actor_name: str, node_id: str | None,
                       status: str) -> str:
        """Register (again) in the current epoch; the epoch."""

    async def set_status(self, instance_id: str, status: str) -> bool: ...

    async def heartbeat(self, instance_id: str) -> HeartbeatReply: ...

    async def watch(self, known: ViewVersion, timeout_s: float, subscriber: Subscriber | None = None) -> RegistryUpdate: ...


class Registry(RegistryReader, Protocol):
    async def active_instances(self, logical_ids: list[str]) -> dict[str, ActiveInstance | None]:
        """The active instance of each of `logical_ids` (None: it has none), in one call: every lookup
        of a bulk resolve that its replica's cache does not hold."""

    async def snapshot(self) -> RegistrySnapshot: ...

    async def set_known_logical_ids(self, logical_ids: list[str]) -> None:
        """The organs of the current deployment (a rule may only name one of them)."""

    async def rotate_epoch(self, stamp: AuditStamp) -> EpochRotation: ...

    async def change_rules(self, add: list[Rule], remove: list[RouteKey], stamp: AuditStamp) -> RegistryView | Refusal:
        """All or nothing: the view with the change applied, or why nothing was."""

    async def request_refresh(self, stamp: AuditStamp) -> RegistryView: ...

    async def advance(self, reason: str) -> RegistryView:
        """A change made elsewhere (the picker: config, blacklist, miner removal) is in force: a new version."""

    async def await_applied(self, version: int, bound_s: float) -> list[str]:
        """Wait until every live replica has applied `version`, at most `bound_s`; those that have not."""

    async def control_plane(self) -> ControlPlane: ...

    async def audit_page(self, before: str | None, limit: int, action: str | None, subject: str | None) -> AuditPage: ...
