"""When each receipt's time to live ends, in order: what retention forgets, found without reading every receipt. Pure.

The book keeps every started and finished receipt until a day after its ttl
ended (`retention`), and the prune that runs every 30 s found the lapsed ones
by reading them all: half of a 100,000-job replay's time went to that scan.
Here each receipt is remembered with the moment its retention ends, in a heap;
a prune takes the heap's head up to that moment. A receipt that left the book
another way (a decline, a newer receipt of its job) is passed over when its
moment comes.
"""

import heapq

from contracts.jobs import Receipt


class ReceiptLapses:
    def __init__(self) -> None:
        self._heap: list[tuple[float, str]] = []  # (timestamp + ttl, job uuid)

    def add(self, receipt: Receipt) -> None:
        heapq.heappush(self._heap, (receipt.timestamp + receipt.ttl_s, receipt.job_uuid))

    def take(self, horizon: float, *kept: dict[str, Receipt]) -> list[Receipt]:
        """The receipts of `kept` (by job uuid) whose ttl ended before `horizon`, taken out of them."""
        taken: list[Receipt] = []
        while self._heap and self._heap[0][0] < horizon:
            lapsed_at, job_uuid = heapq.heappop(self._heap)
            for receipts in kept:
                receipt = receipts.get(job_uuid)
                if receipt is not None and receipt.timestamp + receipt.ttl_s == lapsed_at:
                    taken.append(receipts.pop(job_uuid))
        return taken
