"""The active instance of each organ as the coordinator knows it, so a step can go to it directly. Pure.

Executing a step through the organism costs a Serve call to an
OrganismManager replica, which looks the instance up and calls it. Once the
coordinator knows the active instance of a logical id, it calls that organ
actor itself: one hop fewer. It learns an instance the way the organism
does, from the registry (`lookup`, in the background: a step never waits for
it; until it is known, steps go through the organism), and forgets it the
way the organism does, when the registry's feed says that logical id's
active instances changed, or the epoch, or on a refresh (`forget`). It trusts
what it holds only while the lease on the registry's view holds (`trusted`),
like the route cache. A lookup that was under way when a change arrived is
not kept (it may predate the change).
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterable

Lookup = Callable[[str], Awaitable[str | None]]  # logical id -> actor name of its active instance, or None


class KnownInstances:
    def __init__(self, lookup: Lookup, trusted: Callable[[], bool]) -> None:
        self._lookup = lookup
        self._trusted = trusted
        self._actor_names: dict[str, str] = {}
        self._pending: dict[str, asyncio.Task] = {}
        self._changes = 0  # counts forgets: a lookup begun before one that concerns its logical id is dropped
        self._changed_at: dict[str, int] = {}
        self._everything_changed_at = 0

    def actor_name(self, logical_id: str) -> str | None:
        """The actor to run a step of `logical_id` on, if known and trusted; otherwise None, and it
        is looked up in the background for the steps after this one."""
        if not self._trusted():
            return None
        known = self._actor_names.get(logical_id)
        if known is None and logical_id not in self._pending:
            self._pending[logical_id] = asyncio.get_running_loop().create_task(self._learn(logical_id))
        return known

    async def _learn(self, logical_id: str) -> None:
        began = self._changes
        try:
            actor_name = await self._lookup(logical_id)
        except Exception:
            actor_name = None  # the registry did not answer: the organism path serves meanwhile
        finally:
            self._pending.pop(logical_id, None)
        changed_at = max(self._everything_changed_at, self._changed_at.get(logical_id, 0))
        if actor_name is not None and changed_at <= began:
            self._actor_names[logical_id] = actor_name

    def forget(self, logical_ids: Iterable[str] | None = None) -> None:
        """Those logical ids' instances changed (None: everything may have)."""
        self._changes += 1
        if logical_ids is None:
            self._actor_names.clear()
            self._everything_changed_at = self._changes
            self._changed_at.clear()
        else:
            for logical_id in logical_ids:
                self._actor_names.pop(logical_id, None)
                self._changed_at[logical_id] = self._changes
