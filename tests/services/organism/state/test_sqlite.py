"""SQLite's failures: a failed COMMIT is rolled back and the next write works; outages are StoreUnavailable."""

import sqlite3
import threading
import uuid

import pytest

from contracts.jobs import JobRouted
from contracts.refusals import Refusal, RefusalKind, StoreUnavailable
from organism.state import sqlite
from organism.state.sql import SqlStore
from tests.services.organism.pickers import new_job, stocked_picker


class FailingCommits:
    """A real connection whose next COMMITs fail the way SQLite's do: with the transaction still open."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection, self.failures = connection, []

    def execute(self, sql: str, *args):
        if sql == "COMMIT" and self.failures:
            raise self.failures.pop(0)
        return self._connection.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self._connection, name)


@pytest.fixture
def connections(monkeypatch) -> list[FailingCommits]:
    """Every SQLite connection the stores of the test open, able to fail their commits."""
    opened: list[FailingCommits] = []
    connect = sqlite3.connect

    def failing(*args, **kwargs) -> FailingCommits:
        opened.append(FailingCommits(connect(*args, **kwargs)))
        return opened[-1]

    monkeypatch.setattr(sqlite.sqlite3, "connect", failing)
    return opened


def commit_error(error_type: type[sqlite3.Error], message: str, code: int) -> sqlite3.Error:
    error = error_type(message)
    error.sqlite_errorcode = code
    return error


COMMIT_FAILURES = [  # what the COMMIT raised, and what the store's caller sees
    ("disk I/O", commit_error(sqlite3.OperationalError, "disk I/O error", 10), StoreUnavailable),
    ("disk full", commit_error(sqlite3.OperationalError, "database or disk is full", 13), StoreUnavailable),
    ("locked", commit_error(sqlite3.OperationalError, "database is locked", 5), StoreUnavailable),
    ("a deferred constraint", commit_error(sqlite3.IntegrityError, "FOREIGN KEY constraint failed", 787),
     sqlite3.IntegrityError),
]


@pytest.mark.parametrize("case, error, raised", COMMIT_FAILURES, ids=[case for case, _, _ in COMMIT_FAILURES])
def test_a_failed_commit_is_rolled_back_and_the_next_write_works(tmp_path, connections, case, error, raised):
    store = SqlStore(tmp_path / "jobs.db", "fail/jobs")
    store.write(puts=[("c", "k", 1)])
    connections[0].failures.append(error)
    with pytest.raises(raised):
        store.write(puts=[("c", "k", 2)])
    assert store.load("c") == {"k": 1}  # the failed write is not there
    store.write(puts=[("c", "k", 3)])
    assert store.load("c") == {"k": 3}


def test_a_picker_whose_commit_failed_answers_store_unavailable_and_routes_the_next_job(tmp_path, connections):
    picker = stocked_picker(str(tmp_path / "jobs.db"), "fail/jobs", miners=1, executors=1)
    connections[0].failures.append(commit_error(sqlite3.OperationalError, "disk I/O error", 10))
    lost = new_job()
    with pytest.raises(StoreUnavailable):  # not sqlite3's error from reloading the book
        picker.route_jobs([lost])
    unknown = picker.job(lost.job_uuid)
    assert isinstance(unknown, Refusal) and unknown.kind is RefusalKind.UNKNOWN_JOB  # neither written nor remembered
    assert isinstance(picker.route_jobs([new_job()])[0], JobRouted)  # the one slot is free for the next job


def test_a_database_locked_beyond_the_busy_timeout_is_store_unavailable(tmp_path):
    scope = f"{uuid.uuid4().hex[:8]}/jobs"
    holder, waiter = SqlStore(tmp_path / "jobs.db", scope), SqlStore(tmp_path / "jobs.db", scope)
    with holder.transaction() as tx:
        tx.write([("c", "k", 1)])
        with pytest.raises(StoreUnavailable, match="locked"):
            waiter.write(puts=[("c", "k", 2)])
    waiter.write(puts=[("c", "k", 3)])
    assert holder.load("c") == {"k": 3}


def test_a_file_that_cannot_be_opened_is_store_unavailable(tmp_path):
    with pytest.raises(StoreUnavailable, match="unable to open"):
        SqlStore(tmp_path, "dir/jobs")  # a directory, not a database file


def test_a_read_in_progress_makes_no_write_wait_and_the_next_read_sees_the_write(tmp_path):
    store = SqlStore(tmp_path / "jobs.db", f"{uuid.uuid4().hex[:8]}/jobs")
    store.write(puts=[("c", "k", 1)])
    with store.snapshot() as view:  # a long read, on another thread in the picker, holds its transaction open
        assert view.get("c", "k") == 1
        written = threading.Thread(target=store.write, kwargs={"puts": [("c", "k", 2)]})
        written.start()
        written.join(timeout=5)
        assert not written.is_alive()  # the write did not wait for the read to end
        assert view.get("c", "k") == 1  # the read still sees its snapshot
    assert store.load("c") == {"k": 2}
