"""The vocabulary of routing a step. Pure.

Where an answer came from, why it went static, the answer itself, and the two
seams of the router (the organism, an observer).
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from contracts.wire import ResolveRouteRequest, ResolveRoutesRequest, ResolveRoutesResponse, RouteResult
from coordinator.breaker import BreakerState


class RouteSource(StrEnum):
    CACHE = "cache"
    REMOTE = "remote"
    STATIC = "static"


class FallbackReason(StrEnum):
    """Why a step was routed statically (beside the organism's own non-ok statuses)."""

    REMOTE_DISABLED = "remote_disabled"
    CIRCUIT_OPEN = "circuit_open"
    TIMEOUT = "timeout"
    REMOTE_ERROR = "remote_error"


@dataclass(frozen=True, slots=True)
class StepRoute:
    logical_id: str
    route_source: RouteSource
    resolved_from: str
    status: str
    epoch: str | None = None


@dataclass(frozen=True, slots=True)
class RouterStats:
    remote_calls: int
    batches: int  # remote calls that carried coalesced misses
    breaker: BreakerState
    budget_ms: float
    cache_entries: int
    epoch: str | None


class OrganismResolver(Protocol):
    async def resolve_route(self, request: ResolveRouteRequest) -> RouteResult: ...

    async def resolve_routes(self, request: ResolveRoutesRequest) -> ResolveRoutesResponse: ...


class RouteObserver(Protocol):
    def cache_hit(self) -> None: ...

    def remote_call(self, kind: str, failure: str | None) -> None: ...

    def remote_latency(self, kind: str, latency_ms: float) -> None: ...

    def bulk_items(self, items: int, failed: int) -> None: ...

    def static_route(self, reason: str) -> None: ...

    def breaker_state(self, state: BreakerState) -> None: ...


class NullObserver:
    def cache_hit(self) -> None:
        pass

    def remote_call(self, kind: str, failure: str | None) -> None:
        pass

    def remote_latency(self, kind: str, latency_ms: float) -> None:
        pass

    def bulk_items(self, items: int, failed: int) -> None:
        pass

    def static_route(self, reason: str) -> None:
        pass

    def breaker_state(self, state: BreakerState) -> None:
        pass
