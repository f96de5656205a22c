"""The audit trail read by the OrganismManager replica itself, straight from a component's store.

A page of the trail is SQL by key (`organism.state.audit`). Asked of the
registry or the picker actor, it ran in their process, beside the changes
and picks they serialize, and shared its interpreter with them: with
650,000 entries an operator's page a second cost picks a fifth of their
throughput. So the replica opens each component's store read-only itself
(`locate.open_store(read_only=True)`): PostgreSQL always, a SQLite file
where it is on this node (`make run`, a cluster on one machine). It reads
in a worker thread, so the replica's event loop goes on serving. Where the
store cannot be opened here (a SQLite file on another node, not created
yet) or a read fails, `page` answers None and the caller asks the actor as
before; an unopened store is tried again at most every `RETRY_S`.
"""

import asyncio
import time
from pathlib import Path

from contracts.audit import AuditPage
from contracts.refusals import StoreUnavailable
from organism.state import audit
from organism.state.locate import open_store
from organism.state.sql import SqlStore

RETRY_S = 30.0


class LocalTrail:
    def __init__(self, component: str, namespace: str, state_dir: Path) -> None:
        self._where = (component, namespace, state_dir)
        self._store: SqlStore | None = None
        self._tried_at = float("-inf")

    def _opened(self) -> SqlStore | None:
        if self._store is None and time.monotonic() - self._tried_at >= RETRY_S:
            self._tried_at = time.monotonic()
            try:
                self._store = open_store(*self._where, read_only=True)
            except StoreUnavailable:
                return None
        return self._store

    async def page(self, before: str | None, limit: int, action: str | None, subject: str | None) -> AuditPage | None:
        """The component's page read here, or None: ask its actor."""
        store = self._opened()
        if store is None:
            return None
        try:
            return await asyncio.to_thread(audit.page, store, before, limit, action, subject)
        except StoreUnavailable:
            return None
