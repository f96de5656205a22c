"""An organ as its callers see it: the actor's typed interface. Pure.

Every detached actor answers `code_version` (`Versioned`), so a replica can
replace one that runs other code. An organ runs a task step for the
OrganismManager and, when the organism cannot, for the coordinator; it drains
and stops when its deployment no longer configures it. The actor is
`organism.tasks.organ.Organ`; its name is `contracts.actor_names`'.
"""

from typing import Any, Protocol

from contracts.identity import Caller


class Versioned(Protocol):
    async def code_version(self) -> str:
        """A hash of the source the actor runs."""


class Organ(Versioned, Protocol):
    async def execute(self, task: dict[str, Any], caller: Caller | None = None) -> dict[str, Any]:
        """Run one step (a `contracts.wire.TaskSpec` as a dict) and answer its result."""

    async def describe(self) -> dict[str, Any]: ...

    async def drain_and_stop(self) -> None:
        """Leave routing, let running steps finish, say `dead`, exit."""
