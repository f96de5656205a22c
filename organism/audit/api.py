"""HTTP route of the audit trail (`GET /organism/audit`, admin): who changed what.

Task routing's changes are recorded in the registry's store, job routing's in
the picker's; this route reads both for the entries below the cursor (from
the stores themselves where this replica reaches them, `local_trail`, else
by asking the registry and picker actors) and merges them, newest first
(`organism.state.audit`). A page filtered by
subject may hold fewer entries than asked and still have a next cursor. `AuditApi` is the
trail's part of the OrganismManager's app (`servekit.routes`).
"""

import asyncio
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field

from contracts.audit import AuditPage
from contracts.picker import Picker
from organism.audit.local_trail import LocalTrail
from organism.state import audit
from organism.tasks.routing import TaskRouting
from servekit.auth import require_admin
from servekit.routes import route

AUDIT_CURSOR = r"^\d{11}\.\d{6}\|[0-9a-f]{8}$"


class AuditEntryOut(BaseModel):
    at: float
    subject: str = Field(description="the token's subject: which service or operator")
    role: str
    correlation_id: str
    action: str
    target: str | None
    before: Any = None
    after: Any = None


class AuditOut(BaseModel):
    entries: list[AuditEntryOut]
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; null on the last (a page"
                                    " filtered by subject may be short, even empty, and still have one)")


class AuditApi:
    def __init__(self, tasks: TaskRouting, picker: Picker, registry_trail: LocalTrail, jobs_trail: LocalTrail) -> None:
        self.tasks = tasks
        self.picker = picker
        self.registry_trail = registry_trail
        self.jobs_trail = jobs_trail

    async def _page(self, trail: LocalTrail, ask_actor: Any, *query: Any) -> AuditPage:
        """The page read from the store here when this replica reaches it, else from its actor."""
        found = await trail.page(*query)
        return found if found is not None else await ask_actor(*query)

    @route.get("/audit", dependencies=[require_admin])
    async def audit(
        self,
        action: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z.]+$",
                                            description="an action or its prefix: rules., miner., config.patch")] = None,
        subject: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        cursor: Annotated[str | None, Query(pattern=AUDIT_CURSOR, description="`next_cursor` of the previous page")] = None,
    ) -> AuditOut:
        """Every admin and facts change, newest first, with who made it and what was there before."""
        query = (cursor, limit, action, subject)
        pages: list[AuditPage] = await asyncio.gather(self._page(self.registry_trail, self.tasks.audit_page, *query),
                                                      self._page(self.jobs_trail, self.picker.audit_page, *query))
        shown, following = audit.merge(pages, limit)
        return AuditOut(entries=[AuditEntryOut(**asdict(entry)) for _, entry in shown], next_cursor=following)
