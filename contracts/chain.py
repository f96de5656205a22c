"""Cycle arithmetic and the current block. Pure.

An epoch is `tempo + 1` = 361 blocks, offset by the netuid; a cycle is two
epochs (722 blocks) starting on an even epoch, so cycle starts are
`722 k - netuid - 2`. For netuid 12: block 25 is in [-14, 708), block 708 in
[708, 1430). That closed form is the original's epoch arithmetic only while
the netuid offset stays inside one epoch: netuid <= `MAX_NETUID` (358), which
the settings enforce. A block lasts 12 s. The reported block advances by one every
12 s until the next report.
"""

from dataclasses import dataclass

from contracts.pickling import compact

TEMPO = 360
BLOCK_TIME_S = 12
CYCLE_BLOCKS = 2 * (TEMPO + 1)
MAX_NETUID = TEMPO - 2


@compact
@dataclass(frozen=True, slots=True)
class Cycle:
    start: int
    stop: int  # exclusive

    def __contains__(self, block: int) -> bool:
        return self.start <= block < self.stop

    def seconds_left(self, block: int) -> int:
        return (self.stop - block) * BLOCK_TIME_S


def cycle_containing(block: int, netuid: int) -> Cycle:
    start = block - (block + netuid + 2) % CYCLE_BLOCKS
    return Cycle(start, start + CYCLE_BLOCKS)


@compact
@dataclass(frozen=True, slots=True)
class ChainReport:
    block: int
    reported_at: float

    def current_block(self, now: float) -> int:
        return self.block + max(0, int((now - self.reported_at) // BLOCK_TIME_S))


@compact
@dataclass(frozen=True, slots=True)
class ChainView:
    """The last report and what it means now."""

    reported_block: int
    reported_at: float
    current_block: int
    netuid: int
    cycle: Cycle


def chain_view(report: ChainReport, netuid: int, now: float) -> ChainView:
    current = report.current_block(now)
    return ChainView(report.block, report.reported_at, current, netuid, cycle_containing(current, netuid))
