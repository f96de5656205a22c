import pytest

from organism.store import InMemoryStore, SqliteStore


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    if request.param == "memory":
        return InMemoryStore()
    return SqliteStore(tmp_path / "state.db")


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


def test_sqlite_survives_reopen(tmp_path):
    SqliteStore(tmp_path / "s.db").write(puts=[("meta", "epoch", 7)])
    assert SqliteStore(tmp_path / "s.db").load("meta") == {"epoch": 7}
