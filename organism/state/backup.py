"""A scope's whole state as one JSON document, and back: `routing backup` / `routing restore`.

A backup holds every document of a scope, its slot claims, its allowance
holds and its tombstones, with the schema version it was taken at, all read in one
snapshot (`SqlStore.snapshot`): a backup of a running stack pairs every job
with the claims of the same moment, and a long backup makes no writer wait.

A restore replaces exactly what the backed-up scope holds (another
namespace's rows are never touched, however alike its name), all or
nothing: every backup is read and checked before anything is written, and
the stores restored together (`restore_all`: a namespace's registry and
jobs) each write in one transaction, committed only once all of them have
written. A failure before that leaves every store as it was. A backup of a
newer schema than this code knows is refused. It works the same for SQLite
and PostgreSQL, so it also moves state between them.
"""

import contextlib
from dataclasses import asdict, dataclass
from typing import Any

from organism.state.document_text import document_text
from organism.state.sql import SCHEMA_VERSION, SqlStore
from organism.state.store import AllowanceHold, Claim, Put, Tombstone

FORMAT = 3  # 2 added tombstones, 3 allowance holds; an older backup restores with none
READABLE_FORMATS = (1, 2, FORMAT)


@dataclass(frozen=True, slots=True)
class Contents:
    """A backup, read and checked: what a restore writes."""

    puts: list[Put]
    claims: list[Claim]
    tombstones: list[Tombstone]
    holds: list[AllowanceHold]


def dump(store: SqlStore) -> dict[str, Any]:
    with store.snapshot() as view:
        return {
            "format": FORMAT,
            "schema_version": store.version,
            "scope": store.scope,
            "documents": view.documents(),
            "claims": [asdict(claim) for claim in view.claims()],
            "tombstones": [asdict(stone) for stone in view.tombstones()],
            "holds": [asdict(hold) for hold in view.allowance_holds()],
        }


def read(backup: dict[str, Any]) -> Contents:
    """The backup's contents; ValueError (or TypeError) when it is not one this code can restore."""
    if backup.get("format") not in READABLE_FORMATS or backup.get("schema_version", 0) > SCHEMA_VERSION:
        raise ValueError("this backup is of another format or a newer schema than this code knows")
    puts = [(collection, key, doc) for collection, docs in backup["documents"].items() for key, doc in docs.items()]
    document_text([doc for _, _, doc in puts])  # a document that cannot be stored fails here, before any write
    return Contents(puts, [Claim(**claim) for claim in backup["claims"]],
                    [Tombstone(**stone) for stone in backup.get("tombstones", [])],
                    [AllowanceHold(**hold) for hold in backup.get("holds", [])])


def restore_all(targets: list[tuple[SqlStore, dict[str, Any]]]) -> list[int]:
    """Replace each store's scope with its backup, all or nothing; the documents restored into each."""
    contents = [read(backup) for _, backup in targets]
    with contextlib.ExitStack() as transactions:  # every transaction commits only after every one has written
        for (store, _), restored in zip(targets, contents, strict=True):
            tx = transactions.enter_context(store.transaction())
            tx.clear()
            tx.write(restored.puts)
            for claim in restored.claims:
                tx.restore_claim(claim)
            tx.bury(restored.tombstones)
            for hold in restored.holds:
                tx.hold_allowance(hold)
    return [len(restored.puts) for restored in contents]


def restore(store: SqlStore, backup: dict[str, Any]) -> int:
    """Replace one store's scope with its backup, in one transaction; the number of documents restored."""
    return restore_all([(store, backup)])[0]
