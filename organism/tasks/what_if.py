"""What a rule change would do, before it is made: the recent keys it would send elsewhere. Pure.

Each OrganismManager replica keeps a bounded sample of the keys it resolved
lately (`RecentKeys`: the last `SAMPLE` distinct (type, domain) pairs, the
most recent first; recording one is a dictionary operation on the resolve
path). `moved` matches each sampled key against the table as it is and as
the change would make it, and names those whose logical id would change:
what `PUT /organism/routing/rules?dry_run=true` answers. A preferred logical
id wins over every rule when its organ is live, so the sample keeps keys, not
preferences: what moves is what the rules decide.
"""

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from contracts.routing_table import Match, RouteKey, RuleTable

SAMPLE = 1_000


class RecentKeys:
    def __init__(self, size: int = SAMPLE) -> None:
        self._size = size
        self._keys: OrderedDict[RouteKey, None] = OrderedDict()

    def seen(self, key: RouteKey) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        if len(self._keys) > self._size:
            self._keys.popitem(last=False)

    def keys(self) -> list[RouteKey]:
        """The sample, the most recently resolved first."""
        return list(reversed(self._keys))


@dataclass(frozen=True, slots=True)
class Moved:
    key: RouteKey
    before: Match
    after: Match


def moved(before: RuleTable, after: RuleTable, keys: Iterable[RouteKey]) -> list[Moved]:
    """The keys whose logical id `after` decides differently from `before`, in the order given."""
    return [Moved(key, was, will) for key in keys
            if (was := before.match(*key)).logical_id != (will := after.match(*key)).logical_id]
