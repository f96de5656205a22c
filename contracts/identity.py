"""Who a request runs under: the calling service, its role, and what each role may call. Pure.

A `Caller` is taken from a verified token (`servekit.identity`) or passed
along on an internal call (the coordinator forwards its caller to the
organism and the organs, with the correlation id). Roles (`GRANTS`):
`service` routes and reads; `facts` feeds facts (miners, manifests,
allowances, receipts, the chain) and nothing else; `admin` may everything.
"""

from dataclasses import dataclass, replace
from enum import StrEnum

from contracts.pickling import compact


class Role(StrEnum):
    SERVICE = "service"
    FACTS = "facts"
    ADMIN = "admin"


GRANTS: dict[Role, frozenset[Role]] = {  # a caller's role -> the route roles it may call
    Role.SERVICE: frozenset({Role.SERVICE}),
    Role.FACTS: frozenset({Role.FACTS}),
    Role.ADMIN: frozenset(Role),
}


@compact
@dataclass(frozen=True, slots=True)
class Caller:
    """The identity a request runs under; passed along on internal calls."""

    service: str
    role: Role
    correlation_id: str = ""
    declared_service: str | None = None  # the X-Service header, as the caller put it
    via: str | None = None  # the service that forwarded this call, if any

    def may(self, needed: Role) -> bool:
        return needed in GRANTS[self.role]

    def forwarded_by(self, service: str, correlation_id: str) -> "Caller":
        return replace(self, via=service, correlation_id=correlation_id or self.correlation_id)
