"""Route resolution: which logical id serves a task, and is it alive. Pure.

Precedence (first hit wins): a preferred logical id with an active instance;
then the rule table (`(type, domain)` rule, `type` rule, category default,
fallback). A rule hit is `ok` with an active instance, else
`no_active_instance`; the fallback is always `unknown_type`. An exception
while resolving gives that item `error` and leaves the others alone.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from contracts.routing_table import ResolvedFrom, RouteKey, RuleTable
from contracts.wire import RouteStatus
from organism.tasks.instance_cache import CachedLookup

InstanceLookup = Callable[[str], Awaitable[CachedLookup]]


@dataclass(frozen=True, slots=True)
class RouteQuery:
    """A normalized question; equal queries are resolved once in a bulk call."""

    key: RouteKey
    preferred_logical_id: str | None = None


@dataclass(frozen=True, slots=True)
class Resolution:
    logical_id: str | None
    resolved_from: ResolvedFrom | None
    status: RouteStatus
    instance_id: str | None = None
    cache_hit: bool = False
    cache_age_ms: float = 0.0
    error: str | None = None


async def resolve(query: RouteQuery, table: RuleTable, lookup: InstanceLookup) -> Resolution:
    task_type, domain = query.key
    if not task_type:
        return Resolution(None, None, RouteStatus.ERROR, error="type: must not be blank")
    try:
        if query.preferred_logical_id:
            found = await lookup(query.preferred_logical_id)
            if found.instance_id is not None:
                return _answer(query.preferred_logical_id, ResolvedFrom.PREFERRED, RouteStatus.OK, found)
        match = table.match(task_type, domain)
        found = await lookup(match.logical_id)
        if match.resolved_from is ResolvedFrom.FALLBACK:
            status = RouteStatus.UNKNOWN_TYPE
        elif found.instance_id is None:
            status = RouteStatus.NO_ACTIVE_INSTANCE
        else:
            status = RouteStatus.OK
        return _answer(match.logical_id, match.resolved_from, status, found)
    except Exception as error:  # one item's failure must not fail the others
        return Resolution(None, None, RouteStatus.ERROR, error=f"{type(error).__name__}: {error}")


async def resolve_many(
    queries: Sequence[RouteQuery], table: RuleTable, lookup: InstanceLookup
) -> list[Resolution]:
    """Resolve in request order, each distinct query once."""
    distinct = list(dict.fromkeys(queries))
    answers = await asyncio.gather(*(resolve(q, table, lookup) for q in distinct))
    by_query = dict(zip(distinct, answers, strict=True))
    return [by_query[q] for q in queries]


def _answer(
    logical_id: str, resolved_from: ResolvedFrom, status: RouteStatus, found: CachedLookup
) -> Resolution:
    return Resolution(
        logical_id=logical_id,
        resolved_from=resolved_from,
        status=status,
        instance_id=found.instance_id,
        cache_hit=found.cache_hit,
        cache_age_ms=round(found.cache_age_ms, 3),
    )

