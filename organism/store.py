"""Durable document store: what must survive an actor or cluster restart. Pure.

A store holds JSON documents in named collections. `write` applies a batch of
puts and deletes atomically. `SqliteStore` (WAL) is the default, one file in
the state directory; `InMemoryStore` is the test double and behaves the same.
Calls are blocking: the async registry actor runs them through
`asyncio.to_thread`; the picker actor, which runs one call at a time anyway,
calls them directly.
"""

import json
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

Put = tuple[str, str, Any]  # collection, key, JSON-able document
Delete = tuple[str, str]  # collection, key


class DocumentStore(Protocol):
    def load(self, collection: str) -> dict[str, Any]: ...

    def write(self, puts: Iterable[Put] = (), deletes: Iterable[Delete] = ()) -> None: ...


class InMemoryStore:
    def __init__(self) -> None:
        self._collections: dict[str, dict[str, str]] = {}

    def load(self, collection: str) -> dict[str, Any]:
        return {key: json.loads(doc) for key, doc in self._collections.get(collection, {}).items()}

    def write(self, puts: Iterable[Put] = (), deletes: Iterable[Delete] = ()) -> None:
        encoded = [(c, k, json.dumps(doc)) for c, k, doc in puts]  # fail before mutating
        for collection, key in deletes:
            self._collections.get(collection, {}).pop(key, None)
        for collection, key, doc in encoded:
            self._collections.setdefault(collection, {})[key] = doc


class SqliteStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS documents ("
            " collection TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL,"
            " PRIMARY KEY (collection, key))"
        )

    def load(self, collection: str) -> dict[str, Any]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key, doc FROM documents WHERE collection = ?", (collection,)
            ).fetchall()
        return {key: json.loads(doc) for key, doc in rows}

    def write(self, puts: Iterable[Put] = (), deletes: Iterable[Delete] = ()) -> None:
        encoded = [(c, k, json.dumps(doc)) for c, k, doc in puts]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "DELETE FROM documents WHERE collection = ? AND key = ?", list(deletes)
                )
                self._db.executemany(
                    "INSERT INTO documents (collection, key, doc) VALUES (?, ?, ?)"
                    " ON CONFLICT (collection, key) DO UPDATE SET doc = excluded.doc",
                    encoded,
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()
