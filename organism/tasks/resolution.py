"""Route resolution: which logical id serves a task, and is it alive. Pure.

Precedence (first hit wins): a preferred logical id with an active instance;
then the rule table (`(type, domain)` rule, `type` rule, category default,
fallback). A rule hit is `ok` with an active instance, else
`no_active_instance`; the fallback is always `unknown_type`. An exception
while looking an item's ids up gives that item `error` and leaves the others
alone.

Lookups are bounded: the logical ids a request's queries may need (each
preferred id and each rule's target) are looked up together, with ONE call of
`InstanceLookups` per request, however many items it has. An id no organ is
configured for cannot have an active instance (organs are started only for
configured ids, and only those can run a step), so it is answered absent
without a lookup: a preferred id that names nothing falls through to the
rules and costs nothing.
"""

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from contracts.routing_table import Match, ResolvedFrom, RouteKey, RuleTable
from contracts.wire import RouteStatus
from organism.tasks.instance_cache import CachedLookup

# logical ids -> each one's lookup, or the error that kept it from being looked up
InstanceLookups = Callable[[list[str]], Awaitable[Mapping[str, CachedLookup | Exception]]]
NOT_LOOKED_UP = CachedLookup(None, False, 0.0)


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


BLANK_TYPE = Resolution(None, None, RouteStatus.ERROR, error="type: must not be blank")  # a bulk item's blank type


async def resolve(
    query: RouteQuery, table: RuleTable, lookups: InstanceLookups, configured: Collection[str]
) -> Resolution:
    return (await resolve_many([query], table, lookups, configured))[0]


async def resolve_many(
    queries: Sequence[RouteQuery], table: RuleTable, lookups: InstanceLookups, configured: Collection[str]
) -> list[Resolution]:
    """Resolve in request order, each distinct query once, with one lookup of every configured id
    the queries may need."""
    matches = {query: table.match(*query.key) for query in dict.fromkeys(queries) if query.key[0]}
    needed = {
        logical_id
        for query, match in matches.items()
        for logical_id in (query.preferred_logical_id, match.logical_id)
        if logical_id in configured
    }
    found = await lookups(sorted(needed)) if needed else {}
    by_query = {query: _decide(query, match, found) for query, match in matches.items()}
    return [by_query.get(query, BLANK_TYPE) for query in queries]


def _decide(query: RouteQuery, match: Match, found: Mapping[str, CachedLookup | Exception]) -> Resolution:
    try:
        if query.preferred_logical_id:
            preferred = _looked_up(found, query.preferred_logical_id)
            if preferred.instance_id is not None:
                return _answer(query.preferred_logical_id, ResolvedFrom.PREFERRED, RouteStatus.OK, preferred)
        target = _looked_up(found, match.logical_id)
    except Exception as error:  # one item's failure must not fail the others
        return Resolution(None, None, RouteStatus.ERROR, error=f"{type(error).__name__}: {error}")
    if match.resolved_from is ResolvedFrom.FALLBACK:
        status = RouteStatus.UNKNOWN_TYPE
    elif target.instance_id is None:
        status = RouteStatus.NO_ACTIVE_INSTANCE
    else:
        status = RouteStatus.OK
    return _answer(match.logical_id, match.resolved_from, status, target)


def _looked_up(found: Mapping[str, CachedLookup | Exception], logical_id: str) -> CachedLookup:
    answer = found.get(logical_id, NOT_LOOKED_UP)
    if isinstance(answer, Exception):
        raise answer
    return answer


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

