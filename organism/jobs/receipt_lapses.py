"""When each receipt's time to live ends, in order: what retention forgets, found without reading every receipt. Pure.

The book keeps every started and finished receipt until a day after its ttl
ended (`retention`), and the prune that runs every 30 s found the lapsed ones
by reading them all: half of a 100,000-job replay's time went to that scan.
Here each receipt is remembered with the moment its retention ends, in a heap;
a prune takes the heap's head up to that moment. A receipt that left the book
another way (a decline, a newer receipt of its job) is passed over when its
moment comes. A receipt read again from the store (a job reloaded on every
read of it) is queued once.
"""

import heapq

from contracts.jobs import Receipt


class ReceiptLapses:
    def __init__(self) -> None:
        self._heap: list[tuple[float, str]] = []  # (timestamp + ttl, job uuid)
        self._queued: set[tuple[float, str]] = set()  # what the heap holds

    def __len__(self) -> int:
        """Receipts queued."""
        return len(self._heap)

    def add(self, receipt: Receipt) -> None:
        lapse = (receipt.timestamp + receipt.ttl_s, receipt.job_uuid)
        if lapse not in self._queued:
            self._queued.add(lapse)
            heapq.heappush(self._heap, lapse)

    def take(self, horizon: float, *kept: dict[str, Receipt]) -> list[Receipt]:
        """The receipts of `kept` (by job uuid) whose ttl ended before `horizon`, taken out of them."""
        taken: list[Receipt] = []
        while self._heap and self._heap[0][0] < horizon:
            lapsed_at, job_uuid = lapse = heapq.heappop(self._heap)
            self._queued.discard(lapse)
            for receipts in kept:
                receipt = receipts.get(job_uuid)
                if receipt is not None and receipt.timestamp + receipt.ttl_s == lapsed_at:
                    taken.append(receipts.pop(job_uuid))
        return taken
