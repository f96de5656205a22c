"""One SQLite connection shared by a store's threads: its transactions, and what their failures mean.

Reads run in deferred transactions (`BEGIN`): in WAL mode a reader sees one
snapshot from its first read to its end and takes no write lock, so a long
read (a backup) never makes a writer wait. Writes run in `BEGIN IMMEDIATE`
transactions: the writer lock is taken first, so writers queue (up to the
busy timeout) instead of failing half way.

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
    """The file's one connection (WAL); `transaction(write)` is the only way to use it."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with outages_as_unavailable():
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")

    @contextlib.contextmanager
    def transaction(self, write: bool) -> Iterator[sqlite3.Cursor]:
        """A cursor inside one transaction: committed when the block ends, rolled back when it raises
        or the commit fails."""
        with self._lock, outages_as_unavailable():
            self._roll_back_open()
            self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield self._db.cursor()
                self._db.execute("COMMIT")
            except BaseException:
                self._roll_back_open()
                raise

    def _roll_back_open(self) -> None:
        """End a transaction left open (SQLite ends some failed ones by itself, not all)."""
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    def close(self) -> None:
        with self._lock:
            self._db.close()
