"""The audit trail kept by action: filters read only their collections, pages merge, a subject scan is bounded."""

from dataclasses import asdict

import pytest

from contracts.audit import AuditAction, AuditStamp
from organism.state import audit
from organism.state.store import InMemoryStore

ALICE, FEEDER = AuditStamp("alice", "admin", "c1"), AuditStamp("feeder", "facts", "c2")


class CountingStore(InMemoryStore):
    """Which collections a read asked for, and how many documents it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []
        self.given = 0

    def page(self, collection, before, limit):
        self.asked.append(collection)
        found = super().page(collection, before, limit)
        self.given += len(found)
        return found


def trail(*entries: tuple[AuditStamp, AuditAction]) -> CountingStore:
    """A store with one entry per (who, action), a second apart, oldest first."""
    store = CountingStore()
    store.write(audit.put(audit.entry(stamp, action, None, 1_000.0 + n)) for n, (stamp, action) in enumerate(entries))
    return store


def actions(page) -> list[str]:
    return [entry.action for _, entry in page[0]]


MIXED = [(FEEDER, AuditAction.CHAIN_REPORT), (ALICE, AuditAction.MINER_BLACKLIST), (FEEDER, AuditAction.CHAIN_REPORT),
         (ALICE, AuditAction.RULES_CHANGE), (ALICE, AuditAction.MINER_BLACKLIST_LIFT), (FEEDER, AuditAction.MINER_REGISTER)]


@pytest.mark.parametrize(
    ("action", "subject", "expected"),
    [
        (None, None, ["miner.register", "miner.blacklist.lift", "rules.change", "chain.report", "miner.blacklist",
                      "chain.report"]),
        ("miner.", None, ["miner.register", "miner.blacklist.lift", "miner.blacklist"]),
        ("miner.blacklist", None, ["miner.blacklist.lift", "miner.blacklist"]),
        ("chain.report", None, ["chain.report", "chain.report"]),
        (None, "alice", ["miner.blacklist.lift", "rules.change", "miner.blacklist"]),
        ("miner.", "feeder", ["miner.register"]),
        ("epoch.", None, []),
    ],
)
def test_a_page_is_every_matching_entry_newest_first(action, subject, expected):
    assert actions(audit.page(trail(*MIXED), None, 100, action, subject)) == expected


def test_a_filter_reads_only_the_collections_of_its_actions():
    store = trail(*MIXED)
    audit.page(store, None, 100, "rules.")
    assert store.asked == [audit.collection(AuditAction.RULES_CHANGE), audit.FIRST_TRAIL]


@pytest.mark.parametrize("limit", [1, 2, 4, 5])
def test_pages_walk_the_whole_trail_once_in_order(limit):
    store = trail(*MIXED)
    seen, cursor = [], None
    while True:
        entries, cursor = audit.page(store, cursor, limit)
        assert len(entries) <= limit
        seen += [entry.at for _, entry in entries]
        if cursor is None:
            break
    assert seen == sorted((1_000.0 + n for n in range(len(MIXED))), reverse=True)


def test_a_subject_filter_examines_a_bounded_number_of_entries_and_says_where_to_go_on():
    store = trail(*[(FEEDER, AuditAction.CHAIN_REPORT)] * (audit.SCAN_BUDGET + 600), (ALICE, AuditAction.CHAIN_REPORT))
    store.write([audit.put(audit.entry(ALICE, AuditAction.CHAIN_REPORT, None, 10.0))])  # the oldest of all
    entries, cursor = audit.page(store, None, 10, "chain.", "alice")
    assert actions((entries, None)) == ["chain.report"] and cursor is not None
    assert store.given <= audit.SCAN_BUDGET + 1_000
    entries, cursor = audit.page(store, cursor, 10, "chain.", "alice")
    assert [entry.at for _, entry in entries] == [10.0] and cursor is None


def test_entries_of_the_first_trail_are_read_and_forgotten_like_the_others():
    store = trail((ALICE, AuditAction.RULES_CHANGE))
    old = audit.entry(ALICE, AuditAction.MINER_BLACKLIST, "hk", 500.0)
    store.write([(audit.FIRST_TRAIL, audit.audit_key(old.at), asdict(old))])
    assert actions(audit.page(store, None, 10)) == ["rules.change", "miner.blacklist"]
    assert actions(audit.page(store, None, 10, "miner.")) == ["miner.blacklist"]
    assert audit.forget_old(store, 900.0 + audit.RETENTION_S) == 1
    assert actions(audit.page(store, None, 10)) == ["rules.change"]


@pytest.mark.parametrize(
    ("pages", "limit", "expected"),
    [
        ([([("3", 0), ("1", 0)], None), ([("2", 0)], None)], 5, (["3", "2", "1"], None)),
        ([([("3", 0), ("1", 0)], None), ([("2", 0)], None)], 2, (["3", "2"], "2")),
        ([([("5", 0), ("4", 0)], "4"), ([("3", 0)], None)], 2, (["5", "4"], "4")),  # one page was full
        ([([("5", 0)], "4"), ([("3", 0)], None)], 5, (["5"], "4")),  # "3" waits until the first is below "4"
        ([([("4", 0), ("3", 0)], None), ([("4", 0)], None)][:1], 2, (["4", "3"], None)),  # exactly full, at the end
    ],
)
def test_merging_pages_shows_only_what_every_page_examined(pages, limit, expected):
    shown, following = audit.merge(pages, limit)
    assert ([key for key, _ in shown], following) == expected
