"""HTTP route of the audit trail (`GET /organism/audit`, admin): who changed what.

Task routing's changes are recorded in the registry's store, job routing's in
the picker's; this route asks both for the entries below the cursor and
merges them, newest first (`organism.state.audit`). A page filtered by
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
    def __init__(self, tasks: TaskRouting, picker: Picker) -> None:
        self.tasks = tasks
        self.picker = picker

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
        pages: list[AuditPage] = await asyncio.gather(
            self.tasks.audit_page(cursor, limit, action, subject),
            self.picker.audit_page(cursor, limit, action, subject),
        )
        shown, following = audit.merge(pages, limit)
        return AuditOut(entries=[AuditEntryOut(**asdict(entry)) for _, entry in shown], next_cursor=following)
