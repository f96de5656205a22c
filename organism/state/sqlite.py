"""A SQLite file's two connections shared by a store's threads: its transactions, and what their failures mean.

Writes run on the writer's connection in `BEGIN IMMEDIATE` transactions: the
writer lock is taken first, so writers queue (up to the busy timeout)
instead of failing half way. Reads run on a connection of their own, in
deferred transactions (`BEGIN`): in WAL mode a reader sees one snapshot from
its first read to its end and takes no write lock, so a long read (a page
of the audit trail, a backup) never makes a pick's transaction wait, not
even for the connection. A read begun after a commit sees it.

Any failure, the COMMIT's included, rolls the transaction back, and a
transaction an earlier failure left open (a ROLLBACK can fail too) is
rolled back before the next one begins: the connection never stays inside a
transaction, where every later `BEGIN` would fail until a restart. A failure
of the database's environment (locked beyond the busy timeout, disk I/O, disk
full, a file that cannot be opened or written) is `StoreUnavailable`, as for
PostgreSQL: nothing was written, ask again later. Other errors (SQL,
constraints) are the caller's and pass unchanged.
"""

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from contracts.refusals import StoreUnavailable

# primary result codes (https://sqlite.org/rescode.html) that say the database is out of reach, not the SQL wrong
OUTAGES = {5: "BUSY", 6: "LOCKED", 7: "NOMEM", 8: "READONLY", 10: "IOERR", 13: "FULL", 14: "CANTOPEN", 15: "PROTOCOL"}


def is_outage(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in OUTAGES


@contextlib.contextmanager
def outages_as_unavailable() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as error:
        if is_outage(error):
            raise StoreUnavailable(f"SQLite: {error}") from error
        raise


class SqliteConnection:
    """The file's writer and reader connections (WAL), or its reader alone (`read_only`); `transaction(write)` is
    the only way to use them."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        if read_only:  # another process's file, read where it is: never created, never written
            with outages_as_unavailable():
                reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None)
            self._connections = {False: (reader, threading.Lock())}
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with outages_as_unavailable():
            writer = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            writer.execute("PRAGMA journal_mode=WAL")  # kept in the file: the reader opens it in WAL too
            writer.execute("PRAGMA synchronous=NORMAL")
            reader = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            reader.execute("PRAGMA query_only=ON")
        self._connections = {True: (writer, threading.Lock()), False: (reader, threading.Lock())}

    @contextlib.contextmanager
    def transaction(self, write: bool) -> Iterator[sqlite3.Cursor]:
        """A cursor inside one transaction: committed when the block ends, rolled back when it raises
        or the commit fails."""
        if write not in self._connections:
            raise ValueError("this SQLite file was opened read-only: it takes no write")
        db, lock = self._connections[write]
        with lock, outages_as_unavailable():
            _roll_back_open(db)
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield db.cursor()
                db.execute("COMMIT")
            except BaseException:
                _roll_back_open(db)
                raise

    def close(self) -> None:
        for db, lock in self._connections.values():
            with lock:
                db.close()


def _roll_back_open(db: sqlite3.Connection) -> None:
    """End a transaction left open (SQLite ends some failed ones by itself, not all)."""
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
