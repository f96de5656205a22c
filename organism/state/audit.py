"""The audit trail: who changed what, when, with which correlation id. Pure.

Every admin and facts mutation (rules, epoch rotation, refresh, dynamic
config, blacklist, miner registration and removal, allowances, the chain) is
recorded as one entry in the `audit` collection of the store that holds what
it changed, in the same transaction as the change: an entry exists exactly
when its change does. Manifests and receipts, the high-volume facts, are not
audited. Keys sort by time (`<at>|<id>`), so the trail pages newest first;
entries older than `RETENTION_S` are forgotten.

`AuditStamp` is the who: the caller's subject and role and the correlation
id, taken from the request's context by the route that asks for the change.
"""

import uuid
from dataclasses import asdict, dataclass
from typing import Any

from organism.state.store import DocumentStore, Put
from servekit.context import current_caller, current_correlation_id

AUDIT = "audit"
RETENTION_S = 90 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class AuditStamp:
    subject: str
    role: str
    correlation_id: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: float
    subject: str
    role: str
    correlation_id: str
    action: str  # e.g. rules.change, epoch.rotate, config.patch, miner.blacklist
    target: str | None  # what it changed: a hotkey, a logical id, ...
    before: Any = None
    after: Any = None


def current_stamp() -> AuditStamp:
    """The caller of the request being served (an in-cluster caller when there is none)."""
    caller = current_caller.get()
    subject, role = (caller.service, caller.role.value) if caller else ("in-cluster", "admin")
    return AuditStamp(subject, role, current_correlation_id())


def audit_key(at: float) -> str:
    return f"{at:018.6f}|{uuid.uuid4().hex[:8]}"


def record(stamp: AuditStamp, action: str, target: str | None, at: float, before: Any = None, after: Any = None) -> Put:
    """The entry to write with the change, in the same transaction."""
    entry = AuditEntry(at, stamp.subject, stamp.role, stamp.correlation_id, action, target, before, after)
    return (AUDIT, audit_key(at), asdict(entry))


def page(
    store: DocumentStore, before: str | None, limit: int, action: str | None = None, subject: str | None = None
) -> tuple[list[tuple[str, AuditEntry]], str | None]:
    """Up to `limit` entries below the key `before`, newest first, of `action` (or its prefix, e.g.
    `miner.`) and `subject` if given; and the key to continue from (None at the end)."""
    found: list[tuple[str, AuditEntry]] = []
    cursor = before
    while len(found) < limit:
        batch = store.page(AUDIT, cursor, max(limit, 100))
        for key, doc in batch:
            entry = AuditEntry(**doc)
            if (action is None or entry.action.startswith(action)) and (subject is None or entry.subject == subject):
                found.append((key, entry))
                if len(found) == limit:
                    return found, key
        if len(batch) < max(limit, 100):
            return found, None
        cursor = batch[-1][0]
    return found, None


def forget_old(store: DocumentStore, now: float) -> int:
    """Delete the entries older than the retention; how many."""
    return store.delete_before(AUDIT, f"{now - RETENTION_S:018.6f}")
