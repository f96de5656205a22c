"""The audit trail: who changed what, when, with which correlation id. Pure.

Every admin and facts mutation (rules, epoch rotation, refresh, dynamic
config, blacklist, miner registration and removal, allowances, the chain) is
recorded as one entry in the store that holds what it changed, in the same
transaction as the change: an entry exists exactly when its change does.
Manifests and receipts, the high-volume facts, are not audited.

Entries are kept by action, one collection each (`audit.<action>`), keyed by
time (`<at>|<id>`): a filter on an action (or a prefix, `miner.`) reads only
the collections it names, by key, newest first, a page at a time, however
long the trail (`PUT /chain` leaves one entry per block: 650,000 in 90
days). A page of several collections is their merge (`merge`). A filter on
the subject examines at most `SCAN_BUDGET` entries per collection and page:
a page may then hold fewer entries than asked, with the cursor to go on from.
Entries written before the trail was kept by action are in one collection
(`audit`), read the same way. Entries older than `RETENTION_S` are forgotten.

`AuditStamp` (`contracts.audit`) is the who: the caller's subject and role
and the correlation id, taken from the request's context by the route that
asks for the change. This module is the one home of the trail's stored shape.
"""

import uuid
from collections.abc import Iterable
from typing import Any

from contracts.audit import AuditAction, AuditEntry, AuditPage, AuditStamp
from contracts.plain import plain
from organism.state.store import DocumentStore, Put
from servekit.context import current_caller, current_correlation_id

FIRST_TRAIL = "audit"  # where entries were kept before the trail was kept by action
RETENTION_S = 90 * 24 * 3600.0
SCAN_BUDGET = 5_000  # entries one page examines per collection when a filter is not its collection


def current_stamp() -> AuditStamp:
    """The caller of the request being served (an in-cluster caller when there is none)."""
    caller = current_caller.get()
    subject, role = (caller.service, caller.role.value) if caller else ("in-cluster", "admin")
    return AuditStamp(subject, role, current_correlation_id())


def audit_key(at: float) -> str:
    return f"{at:018.6f}|{uuid.uuid4().hex[:8]}"


def entry(stamp: AuditStamp, action: AuditAction, target: str | None, at: float, before: Any = None,
          after: Any = None) -> AuditEntry:
    """The entry a change leaves, to be written with it, in the same transaction."""
    return AuditEntry(at, stamp.subject, stamp.role, stamp.correlation_id, str(action), target, before, after)


def collection(action: str) -> str:
    return f"audit.{action}"


def put(audited: AuditEntry) -> Put:
    return (collection(audited.action), audit_key(audited.at), plain(audited))


def page(
    store: DocumentStore, before: str | None, limit: int, action: str | None = None, subject: str | None = None
) -> AuditPage:
    """Up to `limit` entries below the key `before`, newest first, of `action` (or its prefix, e.g.
    `miner.`) and `subject` if given; and the key to continue from (None at the end)."""
    named = [a for a in AuditAction if action is None or a.startswith(action)]
    streams = [_stream(store, collection(a), before, limit, None, subject) for a in named]
    streams.append(_stream(store, FIRST_TRAIL, before, limit, action, subject))
    return merge(streams, limit)


def _stream(
    store: DocumentStore, name: str, before: str | None, limit: int, action: str | None, subject: str | None
) -> AuditPage:
    """The entries of one collection below `before` that match, up to `limit`, and the lowest key it
    examined when it stopped before the collection's end (None at the end): every entry from there
    up was examined."""
    filtered = action is not None or subject is not None
    batch_size = max(limit, 1_000) if filtered else limit
    found: list[tuple[str, AuditEntry]] = []
    cursor, examined = before, 0
    while True:
        batch = store.page(name, cursor, batch_size)
        for key, doc in batch:
            stored = AuditEntry(**doc)
            if (action is None or stored.action.startswith(action)) and (subject is None or stored.subject == subject):
                found.append((key, stored))
                if len(found) == limit:
                    return found, key
        examined += len(batch)
        if len(batch) < batch_size:
            return found, None
        cursor = batch[-1][0]
        if examined >= SCAN_BUDGET:
            return found, cursor


def merge(pages: Iterable[AuditPage], limit: int) -> AuditPage:
    """Pages of several collections (or stores) as one: the newest `limit` entries down to where
    every page was examined, and the cursor to go on from (None when every page was at its end)."""
    pages = list(pages)
    floor = max((following for _, following in pages if following is not None), default=None)
    entries = sorted((found for entries, _ in pages for found in entries if floor is None or found[0] >= floor),
                     key=lambda found: found[0], reverse=True)
    shown = entries[:limit]
    if len(entries) > limit or (len(shown) == limit and floor is not None):
        return shown, shown[-1][0]
    return shown, floor


def forget_old(store: DocumentStore, now: float) -> int:
    """Delete the entries older than the retention; how many."""
    horizon = f"{now - RETENTION_S:018.6f}"
    return sum(store.delete_before(name, horizon) for name in (FIRST_TRAIL, *map(collection, AuditAction)))
