"""A scope's whole state as one JSON document, and back: `routing backup` / `routing restore`.

A backup holds every document of each scope and every live slot claim, with
the schema version it was taken at. Restoring replaces what a scope holds,
all or nothing; a backup of a newer schema than this code knows is refused.
It works the same for SQLite and PostgreSQL, so it also moves state between them.
"""

from dataclasses import asdict
from typing import Any

from organism.state.sql import SCHEMA_VERSION, SqlStore
from organism.state.store import Claim

FORMAT = 1


def dump(store: SqlStore) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "schema_version": store.version,
        "scope": store.scope,
        "documents": {name: store.load(name) for name in store.collections()},
        "claims": [asdict(claim) for claim in store.claims()],
    }


def restore(store: SqlStore, backup: dict[str, Any]) -> int:
    """Replace the scope's state with the backup's; the number of documents restored."""
    if backup.get("format") != FORMAT or backup.get("schema_version", 0) > SCHEMA_VERSION:
        raise ValueError("this backup is of another format or a newer schema than this code knows")
    puts = [(collection, key, doc) for collection, docs in backup["documents"].items() for key, doc in docs.items()]
    with store.transaction() as tx:
        tx.clear()
        tx.write(puts)
        for claim in backup["claims"]:
            tx.restore_claim(Claim(**claim))
    return len(puts)
