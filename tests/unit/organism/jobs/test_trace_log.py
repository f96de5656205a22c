"""The trace log's keys and pages: in commit order across days and restarts, from `since`, a page at a time."""

import pytest

from organism.jobs import trace_log
from organism.jobs.simulation.recording import block
from organism.state.store import InMemoryStore

DAY = trace_log.DAY_S
NOW = 20_000 * DAY + 3600.0


def logged(*moments: float) -> InMemoryStore:
    """A store with one block event logged at each moment (blocks numbered in order), by two recorders in turn."""
    store = InMemoryStore()
    for number, at in enumerate(moments):
        store.write([trace_log.Recorder(store, at).put([block(number, at)], at)])  # a fresh recorder: a restart
    return store


def read_all(store: InMemoryStore, since: float, limit: int) -> list[int]:
    found, cursor = [], None
    while True:
        events, cursor = trace_log.page(store, since, cursor, NOW, limit)
        found += [e.fields["block"] for e in events]
        if cursor is None:
            return found


CASES = [
    ("one moment, several restarts: commit order", [NOW - 5] * 4, 0.0, 1, [0, 1, 2, 3]),
    ("across a day's end", [NOW - DAY - 10, NOW - DAY + 10, NOW - 3600 - 1, NOW - 10], 0.0, 2, [0, 1, 2, 3]),
    ("from since on", [NOW - 30, NOW - 20, NOW - 10], NOW - 20, 1000, [1, 2]),
    ("since exactly a change's time includes it", [NOW - 20, NOW - 10], NOW - 20, 1, [0, 1]),
    ("past the retention: not read", [NOW - trace_log.RETENTION_S - 10, NOW - 10], 0.0, 10, [1]),
    ("nothing", [], 0.0, 10, []),
]


@pytest.mark.parametrize("name, moments, since, limit, expected", CASES, ids=[case[0] for case in CASES])
def test_pages_read_the_log_in_commit_order(name, moments, since, limit, expected):
    assert read_all(logged(*moments), since, limit) == expected


def test_a_page_ends_at_its_limit_with_a_cursor_and_events_keep_their_document_time():
    store = InMemoryStore()
    recorder = trace_log.Recorder(store, NOW)
    store.write([recorder.put([block(1, NOW - 9), block(2, NOW - 9)], NOW - 8), recorder.put([block(3, NOW)], NOW - 7)])
    events, cursor = trace_log.page(store, 0.0, None, NOW, 1)
    assert [(e.fields["block"], e.at) for e in events] == [(1, NOW - 8), (2, NOW - 8)] and cursor is not None
    assert [e.fields["block"] for e in trace_log.page(store, 0.0, cursor, NOW, 1)[0]] == [3]


def test_forget_drops_whole_days_past_the_retention():
    store = logged(NOW - trace_log.RETENTION_S - DAY, NOW - 10)
    assert trace_log.forget(store, NOW) == 1
    assert read_all(store, 0.0, 10) == [1]
