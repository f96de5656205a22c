"""The audit trail's vocabulary: who asked for a change, and the entry it leaves. Pure.

`AuditStamp` is the who (the caller's subject and role, the correlation id),
taken from the request by the route that asks for the change and passed to
the actor that makes it; `AuditEntry` is what that actor records in the same
transaction as the change (`organism.state.audit`).
"""

from dataclasses import dataclass
from typing import Any


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


AuditPage = tuple[list[tuple[str, AuditEntry]], str | None]  # (key, entry) newest first, and the key to go on from
