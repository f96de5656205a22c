"""The store, the same cases against every backend: in memory, SQLite, PostgreSQL."""

import sqlite3
import uuid

import pytest

from organism.state.backup import dump, restore
from organism.state.sql import MIGRATIONS, SCHEMA_VERSION, SqlStore
from organism.state.store import AllowanceHold, InMemoryStore, Tombstone


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "memory":
        yield InMemoryStore()
        return
    location = tmp_path / "state.db" if request.param == "sqlite" else request.getfixturevalue("postgres_dsn")
    opened = SqlStore(location, f"test-{uuid.uuid4().hex[:8]}/jobs")  # scopes keep tests apart in one database
    yield opened
    opened.close()


def test_write_then_load(store):
    store.write(puts=[("meta", "epoch", 3), ("rules", "a", {"logical_id": "x"})])
    assert store.load("meta") == {"epoch": 3}
    assert store.load("rules") == {"a": {"logical_id": "x"}}
    assert store.load("empty") == {}


def test_put_overwrites_and_delete_removes(store):
    store.write(puts=[("c", "k", 1), ("c", "j", 2)])
    store.write(puts=[("c", "k", 5)], deletes=[("c", "j")])
    assert store.load("c") == {"k": 5}


def test_unencodable_batch_changes_nothing(store):
    store.write(puts=[("c", "k", 1)])
    with pytest.raises(TypeError):
        store.write(puts=[("c", "k", 2), ("c", "bad", object())])
    assert store.load("c") == {"k": 1}


def test_a_failed_transaction_leaves_documents_claims_and_tombstones_as_they_were(store):
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            tx.write(puts=[("c", "k", 1)])
            assert tx.claim_slot("m", "cls", "job-1", 2, 100.0, 0.0) == 0
            tx.bury([Tombstone("job-0", 100.0)])
            raise RuntimeError("the picker failed half way")
    assert store.load("c") == {} and store.claims() == []
    with store.transaction() as tx:
        assert not tx.buried("job-0", 0.0)


def test_a_tombstone_holds_its_uuid_until_its_time_then_is_forgotten(store):
    with store.transaction() as tx:
        tx.bury([Tombstone("done", 100.0), Tombstone("done-earlier", 50.0)])
    with store.transaction() as tx:
        assert [tx.buried(u, 60.0) for u in ("done", "done-earlier", "never-routed")] == [True, False, False]
    assert store.forget_tombstones(60.0) == 1
    with store.transaction() as tx:
        tx.bury([Tombstone("done", 200.0)])  # finished again later: the later time holds
        assert (tx.buried("done", 150.0), tx.buried("done", 200.0)) == (True, False)


@pytest.mark.parametrize(
    "case, steps, expected",
    [
        ("slots are taken lowest first", [("job-1", 2, 0.0), ("job-2", 2, 0.0)], [0, 1]),
        ("above the highest held while there is room", [("job-1", 3, 0.0), ("job-2", 3, 0.0), ("job-1", 3, 0.0)],
         [0, 1, 2]),
        ("the top taken: the gap below it", [("job-1", 2, 0.0), ("job-2", 2, 0.0), ("job-1", 2, 0.0)], [0, 1, 0]),
        ("no slot beyond the online executors", [("job-1", 1, 0.0), ("job-2", 1, 0.0)], [0, None]),
        ("a lapsed claim frees its slot", [("job-1", 1, 0.0), ("job-2", 1, 50.0)], [0, 0]),
        ("a job claims again: it keeps one slot", [("job-1", 2, 0.0), ("job-1", 2, 0.0), ("job-2", 2, 0.0)], [0, 0, 1]),
        ("no executor online: nothing to claim", [("job-1", 0, 0.0)], [None]),
    ],
)
def test_claims(store, case, steps, expected):
    slots = []
    for job, online, now in steps:
        with store.transaction() as tx:
            slots.append(tx.claim_slot("m", "cls", job, online, 10.0, now))  # held until 10
    assert slots == expected


def test_hold_and_release_a_jobs_claim(store):
    with store.transaction() as tx:
        tx.claim_slot("m", "cls", "job-1", 1, 10.0, 0.0)
        tx.hold("job-1", 500.0)  # a start receipt holds it longer
    with store.transaction() as tx:
        assert tx.claim_slot("m", "cls", "job-2", 1, 10.0, 50.0) is None
        assert [c.held_until for c in tx.claims_of("m", "cls")] == [500.0]
        tx.release("job-1")  # finished
        assert tx.claim_slot("m", "cls", "job-2", 1, 10.0, 50.0) == 0


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_state_survives_reopen_at_the_current_schema(backend, tmp_path, request):
    location = tmp_path / "s.db" if backend == "sqlite" else request.getfixturevalue("postgres_dsn")
    scope = f"reopen-{uuid.uuid4().hex[:8]}/registry"
    first = SqlStore(location, scope)
    first.write(puts=[("meta", "epoch", 7)])
    first.close()
    again = SqlStore(location, scope)
    assert again.load("meta") == {"epoch": 7} and again.version == SCHEMA_VERSION
    again.close()


def test_a_database_of_an_older_schema_is_migrated_forward_and_keeps_its_state(tmp_path):
    older = sqlite3.connect(tmp_path / "old.db")
    older.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for version, _what, statement in MIGRATIONS[:2]:
        older.execute(statement)
        older.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
    older.execute("INSERT INTO slot_claims VALUES ('old/jobs', 'm', 'cls', 0, 'job-1', 10.0)")
    older.execute("""INSERT INTO documents VALUES ('miners', 'm', '{"hotkey": "m"}')""")  # SQLite named no scope
    older.commit()
    older.close()
    store = SqlStore(tmp_path / "old.db", "old/jobs")
    indexes = sqlite3.connect(tmp_path / "old.db").execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    assert (store.version, [c.job_uuid for c in store.claims()]) == (SCHEMA_VERSION, ["job-1"])
    assert {"slot_claims_lapse", "tombstones_until"} <= {name for (name,) in indexes}
    assert store.load("miners") == {"m": {"hotkey": "m"}}  # its documents are the first opener's
    assert SqlStore(tmp_path / "old.db", "other/jobs").load("miners") == {}  # and no other scope's
    store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_backup_then_restore_into_another_store(backend, tmp_path, request):
    location = tmp_path / "a.db" if backend == "sqlite" else request.getfixturevalue("postgres_dsn")
    source = SqlStore(location, f"a-{uuid.uuid4().hex[:8]}/jobs")
    source.write(puts=[("miners", "m", {"hotkey": "m"}), ("meta", "arrivals", 3)])
    with source.transaction() as tx:
        tx.claim_slot("m", "cls", "job-1", 1, 10.0, 0.0)
        tx.bury([Tombstone("job-0", 99.0)])
    backup = dump(source)
    source.close()
    target = SqlStore(tmp_path / "b.db", "b/jobs")  # also moves state between backends
    target.write(puts=[("stale", "x", 1)])
    assert restore(target, backup) == 2
    assert target.load("miners") == {"m": {"hotkey": "m"}} and target.load("stale") == {}
    assert [(c.hotkey, c.job_uuid) for c in target.claims()] == [("m", "job-1")]
    with target.snapshot() as view:
        assert view.tombstones() == [Tombstone("job-0", 99.0)]
    target.close()


def test_a_log_collection_pages_newest_first_and_forgets_the_oldest(store):
    store.write(puts=[("log", f"{n:04d}", {"n": n}) for n in range(7)] + [("other", "9999", {})])
    assert [doc["n"] for _, doc in store.page("log", None, 3)] == [6, 5, 4]
    assert [key for key, _ in store.page("log", "0004", 3)] == ["0003", "0002", "0001"]
    assert store.page("log", "0000", 3) == [] and store.page("empty", None, 3) == []
    assert store.delete_before("log", "0005") == 5
    assert [key for key, _ in store.page("log", None, 10)] == ["0006", "0005"]


def test_an_allowance_hold_counts_for_its_miner_and_cycle_until_it_lapses_or_is_dropped(store):
    with store.transaction() as tx:
        tx.hold_allowance(AllowanceHold("j1", "m", 0, 10, 3.0, 100.0))
        tx.hold_allowance(AllowanceHold("j1", "m", 0, 10, 5.0, 100.0))  # a job holds once: the last hold replaces
        tx.hold_allowance(AllowanceHold("j2", "other", 0, 10, 7.0, 100.0))
        tx.hold_allowance(AllowanceHold("j3", "m", 10, 20, 7.0, 100.0))
        tx.hold_allowance(AllowanceHold("j4", "m", 0, 10, 7.0, 50.0))
    with store.transaction() as tx:
        assert [(h.job_uuid, h.seconds) for h in tx.allowance_held("m", (0, 10), 60.0)] == [("j1", 5.0)]
        tx.drop_allowance_hold("j1")
    with store.transaction() as tx:
        assert tx.allowance_held("m", (0, 10), 60.0) == []
        assert [h.job_uuid for h in tx.allowance_held("other", (0, 10), 60.0)] == ["j2"]


@pytest.mark.parametrize("except_job, held", [("none", 12.0), ("j1", 7.0), ("j2", 5.0)])
def test_the_held_sum_is_what_the_counted_holds_add_up_to_leaving_one_job_out(store, except_job, held):
    with store.transaction() as tx:
        tx.hold_allowance(AllowanceHold("j1", "m", 0, 10, 5.0, 100.0))
        tx.hold_allowance(AllowanceHold("j2", "m", 0, 10, 7.0, 100.0))
        tx.hold_allowance(AllowanceHold("lapsed", "m", 0, 10, 9.0, 50.0))
        tx.hold_allowance(AllowanceHold("other cycle", "m", 10, 20, 9.0, 100.0))
        tx.hold_allowance(AllowanceHold("other miner", "n", 0, 10, 9.0, 100.0))
    with store.transaction() as tx:
        assert tx.allowance_held_sum("m", (0, 10), 60.0, except_job) == held
