"""A database's rows as they are stored (documents as their JSON text), read past the store under test."""

import contextlib
import sqlite3
from collections.abc import Iterator
from typing import Any

TABLES = {"documents": "collection, key, doc", "slot_claims": "scope, hotkey, executor_class, slot, job_uuid, held_until",
          "tombstones": "scope, job_uuid, until",
          "allowance_holds": "scope, job_uuid, hotkey, cycle_start, cycle_stop, seconds, until"}


@contextlib.contextmanager
def _connect(location: str) -> Iterator[Any]:
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location) as connection:
            yield connection
        return
    connection = sqlite3.connect(location)
    try:
        yield connection
    finally:
        connection.close()


def scope_of(table: str, row: tuple) -> str:
    """The scope a row belongs to: a document's name is `<scope>/<collection>`, the other tables say it."""
    return row[0].rsplit("/", 1)[0] if table == "documents" else row[0]


def rows(location: str, but: str | None = None) -> dict[str, list[tuple]]:
    """Every row of every table, sorted; without the rows of scope `but`."""
    with _connect(location) as connection:
        found = {table: sorted(connection.execute(f"SELECT {columns} FROM {table}").fetchall())
                 for table, columns in TABLES.items()}
    return {table: [row for row in found[table] if scope_of(table, row) != but] for table in found}
