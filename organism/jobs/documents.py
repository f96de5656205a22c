"""How job routing's records are stored, and read back: the one home of their shape. Pure.

Each record is one JSON document (its fields) in a collection named after
its kind, under a key that identifies it: a miner by hotkey, a manifest by
hotkey and executor class, an allowance row by hotkey and cycle, a receipt
by kind and job, an incident by hotkey and job, the dynamic config and the
chain report in `meta`; audit entries go to the trail (`state.audit`);
tombstones are not documents: the store keeps them apart, never loaded.
`write` puts a mutation's `Writes` into a transaction as documents; `load_book`
rebuilds the book from them after a restart. A record stored before one of
its fields existed reads as that field's default.
"""

from collections.abc import Callable, Iterable
from typing import Any

from contracts.audit import AuditEntry
from contracts.chain import ChainReport
from contracts.dynamic_config import DynamicConfig
from contracts.jobs import Allowance, BlacklistEntry, Incident, Manifest, Miner, Receipt
from contracts.plain import plain
from organism.jobs.book import MinerBook
from organism.jobs.records import Reservation, RoutedJob, Writes
from organism.state import audit
from organism.state.store import Delete, DocumentStore, Put, Tombstone, Transaction

META = "meta"
# record type -> (collection, its key)
PLACES: dict[type, tuple[str, Callable[[Any], str]]] = {
    Miner: ("miners", lambda m: m.hotkey),
    Manifest: ("manifests", lambda m: f"{m.hotkey}|{m.executor_class}"),
    BlacklistEntry: ("blacklist", lambda e: e.hotkey),
    Allowance: ("allowances", lambda a: f"{a.hotkey}|{a.cycle_start}|{a.cycle_stop}"),
    Receipt: ("receipts", lambda r: f"{r.kind}|{r.job_uuid}"),
    Reservation: ("reservations", lambda r: r.job_uuid),
    RoutedJob: ("jobs", lambda j: j.job_uuid),
    Incident: ("incidents", lambda i: f"{i.hotkey}|{i.job_uuid}"),
    DynamicConfig: (META, lambda _: "config"),
    ChainReport: (META, lambda _: "chain"),
}
COLLECTIONS = tuple(dict.fromkeys(collection for collection, _ in PLACES.values()))


def _document(record: Any) -> Any:
    return record.model_dump() if isinstance(record, DynamicConfig) else plain(record)


def puts(writes: Writes) -> list[Put]:
    out: list[Put] = []
    for record in writes.saved:
        if isinstance(record, AuditEntry):
            out.append(audit.put(record))
            continue
        if isinstance(record, Tombstone):  # `write` buries it
            continue
        collection, key = PLACES[type(record)]
        out.append((collection, key(record), _document(record)))
    return out


def deletes(writes: Writes) -> list[Delete]:
    return [(PLACES[type(record)][0], PLACES[type(record)][1](record)) for record in writes.dropped]


def write(tx: Transaction, writes: Writes) -> None:
    tx.write(puts(writes), deletes(writes))
    if tombstones := [record for record in writes.saved if isinstance(record, Tombstone)]:
        tx.bury(tombstones)


def load_book(store: DocumentStore) -> MinerBook:
    """The book the store's documents describe (a restarted picker's)."""
    stored = {name: store.load(name) for name in COLLECTIONS}
    docs: dict[str, Iterable[dict[str, Any]]] = {name: found.values() for name, found in stored.items()}
    meta = stored[META]
    book = MinerBook(
        config=DynamicConfig.model_validate(meta["config"]) if "config" in meta else DynamicConfig(),
        chain=ChainReport(**meta["chain"]) if "chain" in meta else None,
    )
    for doc in docs["miners"]:
        book.miners[doc["hotkey"]] = Miner(**doc)
    for doc in docs["manifests"]:
        book.manifests.setdefault(doc["executor_class"], {})[doc["hotkey"]] = Manifest(**doc)
        book.arrivals = max(book.arrivals, doc["arrival"])  # a new manifest arrives after every stored one
    for doc in docs["blacklist"]:
        book.blacklist[doc["hotkey"]] = BlacklistEntry(**doc)
    book.upsert_allowances(Allowance(**doc) for doc in docs["allowances"])
    for doc in docs["reservations"]:
        book.reservations[doc["job_uuid"]] = Reservation(**doc)
    for doc in docs["jobs"]:
        book.index_job(RoutedJob(**doc))
    for doc in docs["receipts"]:
        book.load_receipt(Receipt(**doc))
    for doc in sorted(docs["incidents"], key=lambda d: d["at"]):
        book.incidents.setdefault(doc["hotkey"], []).append(Incident(**doc))
    return book
