"""Allowance held by reservations in flight: per miner and cycle, a sum that lapses with each reservation. Pure.

A pick ranks miners by the allowance they have left: the row's remaining
seconds minus what their unexpired reservations hold. Summing a miner's holds
on every pick made a pick cost grow with that miner's bookings in flight
(p95 1.06 ms with 2,000 of them on one miner of 1,000). Here a hold is added
and released once, and leaves the sum when its reservation expires (a heap
per miner, drained when the miner is next read), so reading the sum costs
O(1) amortized.
"""

import heapq
from collections import defaultdict

Cycle = tuple[int, int]


class AllowanceHolds:
    def __init__(self) -> None:
        self._holds: dict[str, dict[str, tuple[Cycle, float, float]]] = {}  # hotkey -> uuid -> (cycle, seconds, until)
        self._sums: dict[str, defaultdict[Cycle, float]] = {}
        self._expiries: dict[str, list[tuple[float, str]]] = {}  # hotkey -> heap of (until, uuid)

    def copy(self) -> "AllowanceHolds":
        """An independent copy (reading a sum drains lapsed holds: a reader works on its own)."""
        copied = AllowanceHolds()
        copied._holds = {hotkey: dict(held) for hotkey, held in self._holds.items()}
        copied._sums = {hotkey: defaultdict(float, sums) for hotkey, sums in self._sums.items()}
        copied._expiries = {hotkey: list(heap) for hotkey, heap in self._expiries.items()}
        return copied

    def hold(self, hotkey: str, job_uuid: str, cycle: Cycle, seconds: float, until: float) -> None:
        """`seconds` of `hotkey`'s allowance in `cycle` are held until `until` (or released)."""
        self.release(hotkey, job_uuid)
        self._holds.setdefault(hotkey, {})[job_uuid] = (cycle, seconds, until)
        self._sums.setdefault(hotkey, defaultdict(float))[cycle] += seconds
        heapq.heappush(self._expiries.setdefault(hotkey, []), (until, job_uuid))

    def release(self, hotkey: str, job_uuid: str) -> bool:
        """Drop the job's hold; whether it held anything."""
        holding = self._holds.get(hotkey, {})
        entry = holding.pop(job_uuid, None)
        if entry is None:
            return False
        if holding:
            self._sums[hotkey][entry[0]] -= entry[1]
        else:  # nothing left: start the sums afresh rather than carry rounding
            for table in (self._holds, self._sums, self._expiries):
                table.pop(hotkey, None)
        return True

    def next_lapse(self, hotkey: str, now: float) -> float | None:
        """When the first of `hotkey`'s holds lapses (its allowance left grows then)."""
        self._lapse(hotkey, now)
        expiries = self._expiries.get(hotkey)
        return expiries[0][0] if expiries else None

    def holds(self, hotkey: str, job_uuid: str) -> bool:
        return job_uuid in self._holds.get(hotkey, {})

    def held(self, hotkey: str, cycle: Cycle, now: float) -> float:
        self._lapse(hotkey, now)
        return self._sums.get(hotkey, {}).get(cycle, 0.0)

    def held_except(self, hotkey: str, cycle: Cycle, now: float, job_uuid: str) -> float:
        """`held`, leaving out `job_uuid`'s own hold."""
        held = self.held(hotkey, cycle, now)  # lapsed holds leave first
        entry = self._holds.get(hotkey, {}).get(job_uuid)
        return held - (entry[1] if entry is not None and entry[0] == cycle else 0.0)

    def jobs_of(self, hotkey: str) -> list[str]:
        """The uuids of `hotkey`'s holds."""
        return list(self._holds.get(hotkey, ()))

    def jobs(self) -> list[tuple[str, str]]:
        """(hotkey, job uuid) of every hold."""
        return [(hotkey, job_uuid) for hotkey, held in self._holds.items() for job_uuid in held]

    def lapse_all(self, now: float) -> None:
        """Drop every hold whose reservation has expired (for miners nobody has read since)."""
        for hotkey in list(self._expiries):
            self._lapse(hotkey, now)

    def _lapse(self, hotkey: str, now: float) -> None:
        """Pop expired and stale heap entries: the heap's top is always a live hold."""
        expiries = self._expiries.get(hotkey)
        while expiries:
            until, job_uuid = expiries[0]
            entry = self._holds[hotkey].get(job_uuid)
            if entry is not None and entry[2] == until and until > now:
                return
            heapq.heappop(expiries)
            if entry is not None and entry[2] == until:
                self.release(hotkey, job_uuid)
                if hotkey not in self._expiries:  # the last hold went, and its heap with it
                    return
