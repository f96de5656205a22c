"""Finished uuids the book has forgotten: tombstones keep them from being routed again. Pure.

A finished job's uuid is never routed again. The book refuses it while it
holds the job's finished receipt (`prefilters.not_finished`), which it
forgets a day after the job ended (`retention`); in the same write, the
receipt leaves a `Tombstone` in the store (the uuid, and until when), which
refuses the uuid alike until `TOMBSTONE_S` (30 days) after the job finished.
Only a pick the book would route afresh asks for one (`refusal`): one
lookup by primary key in the pick's own transaction; nothing is held in
memory, however many jobs finished in 30 days.
"""

from collections.abc import Callable, Iterable
from typing import Any

from contracts.jobs import JobSpec, Receipt
from contracts.refusals import Refusal
from organism.jobs.book import MinerBook
from organism.jobs.filters import blank_explain
from organism.jobs.prefilters import already_finished
from organism.state.store import Tombstone

TOMBSTONE_S = 30 * 24 * 3600.0


def bury(forgotten: Iterable[Any]) -> list[Tombstone]:
    """The tombstones of the finished receipts among the records the book forgets."""
    return [Tombstone(r.job_uuid, r.timestamp + TOMBSTONE_S) for r in forgotten
            if isinstance(r, Receipt) and r.kind == "finished"]


def refusal(book: MinerBook, spec: JobSpec, now: float, buried: Callable[[str], bool]) -> Refusal | None:
    """A finished job's refusal, for a uuid only a tombstone remembers (`buried` asks the store);
    None when the book decides alone (it holds the finished receipt, or a booking to replay) or no
    tombstone holds the uuid."""
    if spec.job_uuid in book.finished or book.active_booking(spec.job_uuid, now) is not None:
        return None
    if not buried(spec.job_uuid):
        return None
    return already_finished(blank_explain(len(book.miners)))
