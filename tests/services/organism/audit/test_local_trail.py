"""The replica's own reads of the audit trail: the page the actor would give, or None (ask the actor)."""

import asyncio
import time

import pytest

from contracts.audit import AuditAction, AuditStamp
from organism.audit import local_trail
from organism.audit.local_trail import LocalTrail
from organism.state import audit
from organism.state.locate import FILES, open_store

ADMIN, FEEDER = AuditStamp("ops", "admin", "c-1"), AuditStamp("feeder", "facts", "c-2")


def written_trail(state_dir, entries: int = 300):
    """The picker's store as its actor writes it: chain reports by the feeder, a rule change by an admin."""
    store, now = open_store("jobs", "ns", state_dir), time.time()
    store.write([audit.put(audit.entry(FEEDER, AuditAction.CHAIN_REPORT, None, now - 12.0 * n, n + 1, n))
                 for n in range(entries)])
    store.write([audit.put(audit.entry(ADMIN, AuditAction.CONFIG_PATCH, None, now - 5.0, {}, {"a": 1}))])
    return store


@pytest.mark.parametrize("query", [
    (None, 100, None, None),  # the newest page of everything
    (None, 10, "config.", None),  # one action's prefix
    (None, 50, None, "feeder"),  # one subject
])
def test_the_replica_reads_the_page_the_actor_would_give(tmp_path, query):
    writer = written_trail(tmp_path)
    here = asyncio.run(LocalTrail("jobs", "ns", tmp_path).page(*query))
    assert here == audit.page(writer, *query) and here[0]


def test_a_store_not_on_this_node_is_left_to_the_actor_and_not_created(tmp_path):
    trail = LocalTrail("jobs", "ns", tmp_path)
    assert asyncio.run(trail.page(None, 10, None, None)) is None
    assert not (tmp_path / FILES["jobs"]).exists()


def test_a_store_created_later_is_read_once_the_retry_is_due(tmp_path, monkeypatch):
    trail = LocalTrail("jobs", "ns", tmp_path)
    assert asyncio.run(trail.page(None, 10, None, None)) is None
    written_trail(tmp_path)
    assert asyncio.run(trail.page(None, 10, None, None)) is None  # not tried again before RETRY_S
    monkeypatch.setattr(local_trail, "RETRY_S", 0.0)
    assert len(asyncio.run(trail.page(None, 10, None, None))[0]) == 10


def test_a_read_only_store_takes_no_write(tmp_path):
    written_trail(tmp_path)
    with pytest.raises(ValueError, match="read-only"):
        open_store("jobs", "ns", tmp_path, read_only=True).write([("c", "k", {})])
