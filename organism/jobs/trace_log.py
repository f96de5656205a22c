"""The picker's trace log: the routing inputs it committed, kept as trace events in its store. Pure.

Every change the picker commits (a batch of picks, a fact, a config patch,
a receipt, a release) leaves one document in the same transaction: the
change's trace events (`simulation.recording`), so an event exists exactly
when its change does. Documents are kept in one collection per day
(`trace.<day>`, days since the epoch), keyed `<at>|<sequence>|<picker>`:
the time of the change, a counter (events of one moment keep their order;
a restarted picker goes on from the newest key stored) and the picker's token (two pickers on one
database never share a key). A page is a key range read upwards from a
time (`page`): export pages by `--since`. A day past `RETENTION_S` goes
whole (`forget`), so the log is bounded by what a week of traffic writes.

A document is a list of `[kind, fields]` pairs; their `at` is the key's.
"""

import itertools
import uuid
from collections.abc import Iterable
from typing import Any

from organism.jobs.simulation.trace import Event
from organism.state.store import DocumentStore, Put

TRACE = "trace"
DAY_S = 86_400
RETENTION_S = 7 * DAY_S
PAGE_LIMIT = 1_000  # documents a page reads at most


class Recorder:
    """One picker process's writer of trace documents: its token and its counter, which goes on from the
    newest key in the store (a restarted picker's first change may have its predecessor's last time)."""

    def __init__(self, store: DocumentStore, now: float) -> None:
        self.token = uuid.uuid4().hex[:8]
        newest = [found for day in (now - DAY_S, now) for found, _ in store.page(_day(day), None, 1)]
        self._sequence = itertools.count(int(max(newest).split("|")[1]) + 1 if newest else 0)

    def put(self, events: Iterable[Event], now: float) -> Put:
        return _day(now), key(now, next(self._sequence), self.token), [[e.kind, e.fields] for e in events]


def key(at: float, sequence: int, token: str) -> str:
    return f"{at:018.6f}|{sequence:012d}|{token}"


def _day(at: float) -> str:
    return f"{TRACE}.{int(at // DAY_S)}"


def _at(stored_key: str) -> float:
    return float(stored_key.partition("|")[0])


def page(store: DocumentStore, since: float, after: str | None, now: float,
         limit: int = PAGE_LIMIT) -> tuple[list[Event], str | None]:
    """The events from `since` on (after the key `after`, a previous page's cursor, if given), in the
    order they were committed, up to `limit` documents; and the cursor to go on from (None: the end)."""
    start = _at(after) if after is not None else max(since, now - RETENTION_S)
    events: list[Event] = []
    read = 0
    for day in range(int(start // DAY_S), int(now // DAY_S) + 1):
        floor = after if after is not None and int(start // DAY_S) == day else f"{start:018.6f}"
        documents = store.page_up(f"{TRACE}.{day}", floor, limit - read)
        for stored_key, document in documents:
            at = _at(stored_key)
            events += [Event(kind, at, fields) for kind, fields in document]
        read += len(documents)
        if read >= limit:
            return events, documents[-1][0]
    return events, None


def forget(store: DocumentStore, now: float) -> int:
    """Drop the days older than the retention (looking as far back again); how many documents."""
    newest_dropped = int((now - RETENTION_S) // DAY_S) - 1
    return sum(store.delete_before(f"{TRACE}.{day}", "~")
               for day in range(newest_dropped - RETENTION_S // DAY_S, newest_dropped + 1))


def as_lines(events: Iterable[Event]) -> Iterable[dict[str, Any]]:
    """Events as the trace's JSON objects (one a line)."""
    return ({"kind": e.kind, "at": e.at, **e.fields} for e in events)
