"""The audit trail's vocabulary: who asked for a change, and the entry it leaves. Pure.

`AuditStamp` is the who (the caller's subject and role, the correlation id),
taken from the request by the route that asks for the change and passed to
the actor that makes it; `AuditEntry` is what that actor records (its `AuditAction`) in the same
transaction as the change (`organism.state.audit`).
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from contracts.pickling import compact


class AuditAction(StrEnum):
    """Every change the trail records (a filter names one, or a prefix such as `miner.`)."""

    RULES_CHANGE = "rules.change"
    EPOCH_ROTATE = "epoch.rotate"
    ROUTING_REFRESH = "routing.refresh"
    CONFIG_PATCH = "config.patch"
    MINER_REGISTER = "miner.register"
    MINER_DEREGISTER = "miner.deregister"
    MINER_BLACKLIST = "miner.blacklist"
    MINER_BLACKLIST_LIFT = "miner.blacklist.lift"
    MINER_BLACKLIST_AUTO = "miner.blacklist.auto"
    ALLOWANCES_UPDATE = "allowances.update"
    CHAIN_REPORT = "chain.report"


@compact
@dataclass(frozen=True, slots=True)
class AuditStamp:
    subject: str
    role: str
    correlation_id: str


@compact
@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: float
    subject: str
    role: str
    correlation_id: str
    action: str  # an AuditAction
    target: str | None  # what it changed: a hotkey, a logical id, ...
    before: Any = None
    after: Any = None


AuditPage = tuple[list[tuple[str, AuditEntry]], str | None]  # (key, entry) newest first, and the key to go on from
