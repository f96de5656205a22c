"""An OrganismManager replica's part in the control plane: the version it has applied, and acknowledgements.

The replica follows the registry's feed (`contracts.registry_feed`): the
view it holds is at some control-plane version, and it may answer from it
only while its lease holds. Past the lease (the feed is slow, or the
registry out of reach) it takes the registry's view before answering, or
refuses with `StaleReplica` (`current`). A caller that names the least
version it accepts is the follower's business (`RegistryFollower.at_least`).

A change is acknowledged only once it is in force everywhere: after the
registry has made it (or, for the picker's changes, been told of it:
`advance`), this replica applies the view at once and asks the registry to
wait until every live replica, organism and coordinator, has applied that
version, at most `ACK_BOUND_S`; the answer names those that had not
(`Acknowledged.late`). By then their leases have lapsed, so they answer
nothing older either.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from contracts.refusals import RegistryUnavailable, StaleReplica
from contracts.registry import Registry
from contracts.registry_feed import LEASE_S, RegistryFollower, RegistryUpdate, RegistryView
from servekit.actors import with_timeout

ACK_BOUND_S = LEASE_S + 0.5  # a replica that has not applied a change by then no longer trusts its copy


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """A change in force: its version, and the replicas that had not applied it within the bound."""

    version: int
    late: tuple[str, ...] = ()


class ReplicaControl:
    def __init__(self, registry: Registry, follower: RegistryFollower,
                 fetch_view: Callable[[], Awaitable[RegistryView]] | None = None) -> None:
        self._registry = registry
        self._patient = with_timeout(registry, ACK_BOUND_S + 2.0)  # `await_applied` waits on purpose
        self.follower = follower
        self._fetch_view = fetch_view or registry.view

    @property
    def applied(self) -> int:
        return self.follower.applied

    async def current(self) -> None:
        """Make sure what this replica answers from is current: within its lease, or just fetched."""
        try:
            await self.follower.ensure_fresh(self._fetch_view)
        except RegistryUnavailable as error:
            raise StaleReplica(f"replica {self.follower.name} cannot confirm it holds the current control plane"
                               f" (it has version {self.applied}) and the registry does not answer") from error

    async def acknowledge(self, view: RegistryView) -> Acknowledged:
        """A change the registry answered with `view`: in force here now, then everywhere (or named late)."""
        self.follower.apply(RegistryUpdate(view))
        late = await self._patient.await_applied(view.control_version, ACK_BOUND_S)
        return Acknowledged(view.control_version, tuple(late))

    async def advance(self, reason: str) -> Acknowledged:
        """A change the picker has made: a new control-plane version, acknowledged like the registry's own."""
        return await self.acknowledge(await self._registry.advance(reason))
