"""The store in SQL: SQLite (embedded, one file per component) or PostgreSQL (a DSN).

Both keep the same tables, created and upgraded by `migrations.MIGRATIONS` (applied at start under a lock;
`schema_version` says how far a database is). Every row belongs to one scope (`<namespace>/<component>`):
documents are named `<scope>/<collection>` (a collection name has no `/`), claims and tombstones carry their
scope; what a scope holds is matched exactly (`_IN_SCOPE`), never by a pattern another namespace could match,
so many scopes share one database. A claim takes a transaction-scoped advisory lock on its miner (PostgreSQL),
so two pickers in two processes claim that miner's slots one after the other, and `lock_job` one on a job's
uuid, so what they do to one job happens in turn; SQLite serializes writers anyway (single-cluster by design).

Writes run in one transaction (`transaction`); reads take no write lock and
see one snapshot (`snapshot`: PostgreSQL `REPEATABLE READ` read-only, SQLite
a deferred transaction, `sqlite`); a store opened `read_only` (the replica's
audit pages) migrates nothing and opens a SQLite file only where it is.
Connections: a psycopg pool for PostgreSQL (a server that does not answer
within `TIMEOUT_S`, or drops the connection, raises `StoreUnavailable`);
SQLite's pair in `sqlite.SqliteConnection` (outages `StoreUnavailable` too).
"""

import contextlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from contracts.refusals import StoreUnavailable
from organism.state.document_text import document_text
from organism.state.migrations import MIGRATIONS, SCHEMA_VERSION
from organism.state.sqlite import SqliteConnection
from organism.state.store import AllowanceHold, Claim, Delete, Put, Tombstone, lowest_free_slot, slot_above

SCOPED_SQLITE_DOCUMENTS = 4
# one scope's documents, exactly: named `<scope>/` and then no other `/` (`SqlTransaction._in_scope` fills it in);
# `LIKE 'prod_a/%'` would match `prod-a/...` too (`_` is a wildcard) and, in SQLite, `PROD_A/...`
_IN_SCOPE = "substr(collection, 1, ?) = ? AND substr(collection, ?) NOT LIKE ?"
MIGRATION_LOCK = 7_402_117  # the advisory lock id PostgreSQL migrations run under
TIMEOUT_S = 1.5  # waiting for a PostgreSQL connection, then StoreUnavailable: within every caller's timeout (2 s and more)


class SqlTransaction:
    def __init__(self, cursor: Any, scope: str, prefix: str, marker: str, postgres: bool) -> None:
        self._cursor, self._scope, self._prefix, self._postgres = cursor, scope, prefix, postgres
        self._q = (lambda sql: sql.replace("?", "%s")) if marker == "%s" else (lambda sql: sql)

    def _run(self, sql: str, params: tuple = ()) -> Any:
        return self._cursor.execute(self._q(sql), params)

    def _in_scope(self) -> tuple:
        """The parameters of `_IN_SCOPE` for this scope."""
        return len(self._prefix), self._prefix, len(self._prefix) + 1, "%/%"

    def get(self, collection: str, key: str, lock: bool = True) -> Any:
        """Read one document; PostgreSQL locks its row until the transaction ends unless `lock` is false
        (SQLite's writer lock is already held: every write transaction is BEGIN IMMEDIATE)."""
        for_update = " FOR UPDATE" if self._postgres and lock else ""
        row = self._run(f"SELECT doc FROM documents WHERE collection = ? AND key = ?{for_update}",
                        (self._prefix + collection, key)).fetchone()
        return None if row is None else json.loads(row[0])

    def write(self, puts: Iterable[Put] = (), deletes: Iterable[Delete] = ()) -> None:
        encoded = [(self._prefix + c, k, document_text(doc)) for c, k, doc in puts]  # fail before writing
        gone = [(self._prefix + collection, key) for collection, key in deletes]
        if gone:
            self._cursor.executemany(self._q("DELETE FROM documents WHERE collection = ? AND key = ?"), gone)
        if encoded:  # one statement for all (a pick writes several documents)
            self._cursor.executemany(self._q("INSERT INTO documents (collection, key, doc) VALUES (?, ?, ?)"
                                             " ON CONFLICT (collection, key) DO UPDATE SET doc = excluded.doc"), encoded)

    def documents(self) -> dict[str, dict[str, Any]]:
        """Every document of the scope, by collection and key."""
        found: dict[str, dict[str, Any]] = {}
        for collection, key, doc in self._run(f"SELECT collection, key, doc FROM documents WHERE {_IN_SCOPE}"
                                              " ORDER BY collection, key", self._in_scope()).fetchall():
            found.setdefault(collection[len(self._prefix):], {})[key] = json.loads(doc)
        return found

    def claim_slot(self, hotkey: str, executor_class: str, job_uuid: str, online: int, held_until: float,
                   now: float) -> int | None:
        self._lock(f"{hotkey}|{executor_class}")
        self._run("DELETE FROM slot_claims WHERE scope = ? AND (job_uuid = ?"
                  " OR (hotkey = ? AND executor_class = ? AND held_until <= ?))",
                  (self._scope, job_uuid, hotkey, executor_class, now))
        highest = self._run("SELECT MAX(slot) FROM slot_claims WHERE scope = ? AND hotkey = ? AND executor_class = ?",
                            (self._scope, hotkey, executor_class)).fetchone()[0]
        slot = slot_above(highest, online)
        if slot is None:  # the top slot is taken: look for a gap below it
            slot = lowest_free_slot((c.slot for c in self.claims_of(hotkey, executor_class)), online)
        if slot is not None:
            self.restore_claim(Claim(hotkey, executor_class, slot, job_uuid, held_until))
        return slot

    def claims_of(self, hotkey: str, executor_class: str) -> list[Claim]:
        rows = self._run("SELECT hotkey, executor_class, slot, job_uuid, held_until FROM slot_claims"
                         " WHERE scope = ? AND hotkey = ? AND executor_class = ? ORDER BY slot",
                         (self._scope, hotkey, executor_class)).fetchall()
        return [Claim(*row) for row in rows]

    def live_claim_counts(self, executor_class: str, now: float) -> dict[str, int]:
        return dict(self._run("SELECT hotkey, COUNT(*) FROM slot_claims WHERE scope = ? AND executor_class = ?"
                              " AND held_until > ? GROUP BY hotkey", (self._scope, executor_class, now)).fetchall())

    def claims(self) -> list[Claim]:
        """Every claim of the scope."""
        rows = self._run("SELECT hotkey, executor_class, slot, job_uuid, held_until FROM slot_claims"
                         " WHERE scope = ? ORDER BY hotkey, executor_class, slot", (self._scope,)).fetchall()
        return [Claim(*row) for row in rows]

    def hold(self, job_uuid: str, held_until: float) -> None:
        self._run("UPDATE slot_claims SET held_until = ? WHERE scope = ? AND job_uuid = ?",
                  (held_until, self._scope, job_uuid))

    def release(self, job_uuid: str) -> None:
        self._run("DELETE FROM slot_claims WHERE scope = ? AND job_uuid = ?", (self._scope, job_uuid))

    def _lock(self, name: str) -> None:
        """A PostgreSQL advisory lock held until the transaction ends (SQLite's writer lock is held already)."""
        if self._postgres:
            self._run("SELECT pg_advisory_xact_lock(hashtext(?))", (f"{self._scope}|{name}",))

    def lock_job(self, job_uuid: str) -> None:
        self._lock(f"job|{job_uuid}")

    def hold_allowance(self, hold: AllowanceHold) -> None:
        self._run("INSERT INTO allowance_holds (scope, job_uuid, hotkey, cycle_start, cycle_stop, seconds, until)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope, job_uuid) DO UPDATE SET hotkey = excluded.hotkey,"
                  " cycle_start = excluded.cycle_start, cycle_stop = excluded.cycle_stop,"
                  " seconds = excluded.seconds, until = excluded.until",
                  (self._scope, hold.job_uuid, hold.hotkey, hold.cycle_start, hold.cycle_stop, hold.seconds, hold.until))

    def drop_allowance_hold(self, job_uuid: str) -> None:
        self._run("DELETE FROM allowance_holds WHERE scope = ? AND job_uuid = ?", (self._scope, job_uuid))

    def allowance_held(self, hotkey: str, cycle: tuple[int, int], now: float) -> list[AllowanceHold]:
        self._run("DELETE FROM allowance_holds WHERE scope = ? AND hotkey = ? AND until <= ?", (self._scope, hotkey, now))
        return self.allowance_holds("AND hotkey = ? AND cycle_start = ? AND cycle_stop = ?", (hotkey, *cycle))

    def allowance_held_sum(self, hotkey: str, cycle: tuple[int, int], now: float, except_job: str) -> float:
        self._run("DELETE FROM allowance_holds WHERE scope = ? AND hotkey = ? AND until <= ?", (self._scope, hotkey, now))
        row = self._run("SELECT COALESCE(SUM(seconds), 0) FROM allowance_holds WHERE scope = ? AND hotkey = ?"
                        " AND cycle_start = ? AND cycle_stop = ? AND until > ? AND job_uuid <> ?",
                        (self._scope, hotkey, *cycle, now, except_job)).fetchone()
        return float(row[0])

    def live_allowance_holds(self, now: float) -> list[AllowanceHold]:
        return self.allowance_holds("AND until > ?", (now,))

    def allowance_holds(self, where: str = "", params: tuple = ()) -> list[AllowanceHold]:
        """The scope's holds (those `where` selects)."""
        rows = self._run("SELECT job_uuid, hotkey, cycle_start, cycle_stop, seconds, until FROM allowance_holds"
                         f" WHERE scope = ? {where} ORDER BY job_uuid", (self._scope, *params)).fetchall()
        return [AllowanceHold(*row) for row in rows]

    def bury(self, tombstones: Iterable[Tombstone]) -> None:
        for stone in tombstones:
            self._run("INSERT INTO tombstones (scope, job_uuid, until) VALUES (?, ?, ?)"
                      " ON CONFLICT (scope, job_uuid) DO UPDATE SET until = excluded.until",
                      (self._scope, stone.job_uuid, stone.until))

    def buried(self, job_uuid: str, now: float) -> bool:
        return self._run("SELECT 1 FROM tombstones WHERE scope = ? AND job_uuid = ? AND until > ?",
                         (self._scope, job_uuid, now)).fetchone() is not None

    def tombstones(self) -> list[Tombstone]:
        """Every tombstone of the scope."""
        rows = self._run("SELECT job_uuid, until FROM tombstones WHERE scope = ? ORDER BY job_uuid",
                         (self._scope,)).fetchall()
        return [Tombstone(*row) for row in rows]

    def clear(self) -> None:
        """Everything of this scope, and nothing of another (a restore starts here)."""
        self._run(f"DELETE FROM documents WHERE {_IN_SCOPE}", self._in_scope())
        self._run("DELETE FROM slot_claims WHERE scope = ?", (self._scope,))
        self._run("DELETE FROM tombstones WHERE scope = ?", (self._scope,))
        self._run("DELETE FROM allowance_holds WHERE scope = ?", (self._scope,))

    def restore_claim(self, claim: Claim) -> None:
        self._run("INSERT INTO slot_claims (scope, hotkey, executor_class, slot, job_uuid, held_until)"
                  " VALUES (?, ?, ?, ?, ?, ?)",
                  (self._scope, claim.hotkey, claim.executor_class, claim.slot, claim.job_uuid, claim.held_until))


class SqlStore:
    """One scope's documents, claims and tombstones; `location` is a PostgreSQL DSN or a SQLite file."""

    def __init__(self, location: str | Path, scope: str, timeout_s: float = TIMEOUT_S, read_only: bool = False) -> None:
        self.scope = scope
        self.postgres = str(location).startswith(("postgresql://", "postgres://"))
        self.serializes_writers = not self.postgres  # SQLite: one writer at a time, whoever it is
        self._prefix = f"{scope}/"
        if self.postgres:
            import psycopg
            from psycopg_pool import ConnectionPool

            self._outage: type[Exception] = psycopg.OperationalError  # unreachable, restarted, timed out
            # checked as it is handed out: one a database restart dropped is replaced, not used for one failed request
            self._pool = ConnectionPool(str(location), min_size=1, max_size=4, open=True, timeout=timeout_s,
                                        check=ConnectionPool.check_connection, kwargs={"connect_timeout": 5})
        else:
            self._sqlite = SqliteConnection(Path(location), read_only)
        self.version = self._schema_version() if read_only else self._migrate()

    @contextlib.contextmanager
    def _connection(self, write: bool = True) -> Iterator[tuple[Any, str]]:
        """A cursor inside one transaction and its parameter marker; a read (`write=False`): no write lock, one snapshot."""
        if not self.postgres:
            with self._sqlite.transaction(write) as cursor:
                yield cursor, "?"
            return
        try:
            with self._pool.connection() as connection, connection.transaction(), connection.cursor() as cursor:
                if not write:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield cursor, "%s"
        except self._outage as error:
            raise StoreUnavailable(f"PostgreSQL: {error}") from error

    def _schema_version(self) -> int:  # the schema another process migrated to
        with self._connection(write=False) as (cursor, _):
            return cursor.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0

    def _migrate(self) -> int:
        with self._connection() as (cursor, marker):
            if self.postgres:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            cursor.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = cursor.execute("SELECT max(version) FROM schema_version").fetchone()
            current = row[0] or 0
            for version, _what, statement in MIGRATIONS:
                if version > current:
                    if statement:
                        cursor.execute(statement)
                    cursor.execute("INSERT INTO schema_version (version) VALUES (" + str(version) + ")")
            if current < SCOPED_SQLITE_DOCUMENTS and not self.postgres:
                self._adopt_unscoped(cursor, marker)
            return max(current, SCHEMA_VERSION)

    def _adopt_unscoped(self, cursor: Any, marker: str) -> None:
        """Schema 4: SQLite documents are named by scope, as PostgreSQL's always were. A file written
        before held one component of one namespace (or two namespaces mixed, which nothing could tell
        apart): its documents become the scope's that opens it first."""
        cursor.execute(f"UPDATE documents SET collection = {marker} || collection", (self._prefix,))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        with self._connection() as (cursor, marker):
            yield SqlTransaction(cursor, self.scope, self._prefix, marker, self.postgres)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[SqlTransaction]:
        """Reads inside one read-only transaction: everything they see is of one moment (a backup)."""
        with self._connection(write=False) as (cursor, marker):
            yield SqlTransaction(cursor, self.scope, self._prefix, marker, self.postgres)

    def load(self, collection: str) -> dict[str, Any]:
        with self._connection(write=False) as (cursor, marker):
            rows = cursor.execute(f"SELECT key, doc FROM documents WHERE collection = {marker}",
                                  (self._prefix + collection,)).fetchall()
        return {key: json.loads(doc) for key, doc in rows}

    def write(self, puts: Iterable[Put] = (), deletes: Iterable[Delete] = ()) -> None:
        with self.transaction() as tx:
            tx.write(puts, deletes)

    def claims(self) -> list[Claim]:
        with self.snapshot() as view:
            return view.claims()

    def page(self, collection: str, before: str | None, limit: int) -> list[tuple[str, Any]]:
        with self._connection(write=False) as (cursor, marker):
            below = f" AND key < {marker}" if before is not None else ""
            rows = cursor.execute(
                f"SELECT key, doc FROM documents WHERE collection = {marker}{below} ORDER BY key DESC LIMIT {int(limit)}",
                (self._prefix + collection, *(() if before is None else (before,))),
            ).fetchall()
        return [(key, json.loads(doc)) for key, doc in rows]

    def page_up(self, collection: str, after: str, limit: int) -> list[tuple[str, Any]]:
        with self._connection(write=False) as (cursor, marker):
            rows = cursor.execute(
                f"SELECT key, doc FROM documents WHERE collection = {marker} AND key > {marker} ORDER BY key LIMIT {int(limit)}",
                (self._prefix + collection, after),
            ).fetchall()
        return [(key, json.loads(doc)) for key, doc in rows]

    def delete_before(self, collection: str, key: str) -> int:
        with self._connection() as (cursor, marker):
            cursor.execute(f"DELETE FROM documents WHERE collection = {marker} AND key < {marker}",
                           (self._prefix + collection, key))
            return cursor.rowcount

    def forget_tombstones(self, now: float) -> int:
        with self._connection() as (cursor, marker):
            cursor.execute(f"DELETE FROM tombstones WHERE scope = {marker} AND until <= {marker}", (self.scope, now))
            return cursor.rowcount

    def close(self) -> None:
        if self.postgres:
            self._pool.close()
        else:
            self._sqlite.close()
