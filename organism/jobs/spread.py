"""The spread ordering: candidates in a reliability-weighted random order, in proportion to allowance. Pure.

ComputeHorde's validator moved away from a fixed ordering, which "led to the
same miner being selected over and over", to a weighted random shuffle; so
may we (`DYNAMIC_ROUTING_ORDER = "spread"`). A candidate's weight is its
allowance left (after holds) times its *reliability*, a sigmoid of its
recent incidents: 1 / (1 + exp(steepness * (incidents - cutoff))), about 1
without incidents, 1/2 at the soft cutoff `DYNAMIC_SPREAD_INCIDENT_CUTOFF`,
falling the faster the larger `DYNAMIC_SPREAD_STEEPNESS`. Bookings then go to
miners in proportion to what they have left to spend.

`weighted_order` draws the order lazily, since a pick stops at the first
candidate with a free slot: each next candidate is drawn among those not yet
drawn with probability proportional to its weight (sampling without
replacement), by rejection against an upper bound of the weights (a uniform
index, kept with probability weight / bound), which costs no pass over every
candidate; after as many misses as there are candidates, the rest are drawn
exactly (exponential keys, Efraimidis and Spirakis). The random source is
injected: the same source, the same order.
"""

import math
from collections.abc import Callable, Iterator, Sequence
from random import Random
from typing import TypeVar

from contracts.dynamic_config import DynamicConfig

T = TypeVar("T")
SPREAD = "spread"  # the DYNAMIC_ROUTING_ORDER value


def reliability(recent_incidents: int, config: DynamicConfig) -> float:
    exponent = config.DYNAMIC_SPREAD_STEEPNESS * (recent_incidents - config.DYNAMIC_SPREAD_INCIDENT_CUTOFF)
    return 1.0 / (1.0 + math.exp(min(exponent, 700.0)))  # tiny, never 0: every candidate may still be drawn


def weight(allowance_left: float, recent_incidents: int, config: DynamicConfig) -> float:
    """A candidate's weight: its allowance left (at least 1 s: with the allowance check off, a miner
    with none left may still be drawn) times its reliability."""
    return max(allowance_left, 1.0) * reliability(recent_incidents, config)


def weighted_order(items: Sequence[T], weight: Callable[[T], float], bound: float, rng: Random) -> Iterator[T]:
    """`items` with a positive weight (each at most `bound`), in a weighted random order without replacement."""
    drawn: set[int] = set()
    misses, count = 0, len(items)
    while bound > 0 and misses < count and len(drawn) < count:
        position = rng.randrange(count)
        if position not in drawn and rng.random() * bound < weight(items[position]):
            drawn.add(position)
            yield items[position]
        else:
            misses += 1
    keyed = []
    for position in range(count):
        if position not in drawn and (w := weight(items[position])) > 0:
            keyed.append((-math.log(1.0 - rng.random()) / w, position))
    yield from (items[position] for _, position in sorted(keyed))
