"""The audit trail: who changed what, when, with which correlation id. Pure.

Every admin and facts mutation (rules, epoch rotation, refresh, dynamic
config, blacklist, miner registration and removal, allowances, the chain) is
recorded as one entry in the `audit` collection of the store that holds what
it changed, in the same transaction as the change: an entry exists exactly
when its change does. Manifests and receipts, the high-volume facts, are not
audited. Keys sort by time (`<at>|<id>`), so the trail pages newest first;
entries older than `RETENTION_S` are forgotten.

`AuditStamp` (`contracts.audit`) is the who: the caller's subject and role
and the correlation id, taken from the request's context by the route that
asks for the change. This module is the one home of the trail's stored shape.
"""

import uuid
from dataclasses import asdict
from typing import Any

from contracts.audit import AuditEntry, AuditPage, AuditStamp
from organism.state.store import DocumentStore, Put
from servekit.context import current_caller, current_correlation_id

AUDIT = "audit"
RETENTION_S = 90 * 24 * 3600.0


def current_stamp() -> AuditStamp:
    """The caller of the request being served (an in-cluster caller when there is none)."""
    caller = current_caller.get()
    subject, role = (caller.service, caller.role.value) if caller else ("in-cluster", "admin")
    return AuditStamp(subject, role, current_correlation_id())


def audit_key(at: float) -> str:
    return f"{at:018.6f}|{uuid.uuid4().hex[:8]}"


def entry(stamp: AuditStamp, action: str, target: str | None, at: float, before: Any = None,
          after: Any = None) -> AuditEntry:
    """The entry a change leaves, to be written with it, in the same transaction."""
    return AuditEntry(at, stamp.subject, stamp.role, stamp.correlation_id, action, target, before, after)


def put(audited: AuditEntry) -> Put:
    return (AUDIT, audit_key(audited.at), asdict(audited))


def page(
    store: DocumentStore, before: str | None, limit: int, action: str | None = None, subject: str | None = None
) -> AuditPage:
    """Up to `limit` entries below the key `before`, newest first, of `action` (or its prefix, e.g.
    `miner.`) and `subject` if given; and the key to continue from (None at the end)."""
    found: list[tuple[str, AuditEntry]] = []
    cursor = before
    while len(found) < limit:
        batch = store.page(AUDIT, cursor, max(limit, 100))
        for key, doc in batch:
            stored = AuditEntry(**doc)
            if (action is None or stored.action.startswith(action)) and (subject is None or stored.subject == subject):
                found.append((key, stored))
                if len(found) == limit:
                    return found, key
        if len(batch) < max(limit, 100):
            return found, None
        cursor = batch[-1][0]
    return found, None


def forget_old(store: DocumentStore, now: float) -> int:
    """Delete the entries older than the retention; how many."""
    return store.delete_before(AUDIT, f"{now - RETENTION_S:018.6f}")
