"""How a MinerBook is stored: its collections, and the book they describe. Pure.

Each record is one JSON document in a collection named after its kind
(`MinerBook`'s mutations say which to write); jobs stored before a field
existed read as that field's default.
"""

from typing import Any

from organism.jobs.book import MinerBook
from organism.jobs.chain import ChainReport
from organism.jobs.dynamic_config import DynamicConfig
from organism.jobs.records import Allowance, BlacklistEntry, Incident, Manifest, Miner, Receipt, Reservation, RoutedJob
from organism.state.store import DocumentStore

COLLECTIONS = ("miners", "manifests", "blacklist", "allowances", "receipts", "reservations", "jobs", "incidents", "meta")


def load_book(store: DocumentStore) -> MinerBook:
    """The book the store's documents describe (a restarted picker's)."""
    docs: dict[str, dict[str, Any]] = {name: store.load(name) for name in COLLECTIONS}
    book = MinerBook()
    for doc in docs["miners"].values():
        book.miners[doc["hotkey"]] = Miner(**doc)
    for doc in docs["manifests"].values():
        book.manifests.setdefault(doc["executor_class"], {})[doc["hotkey"]] = Manifest(**doc)
    for doc in docs["blacklist"].values():
        book.blacklist[doc["hotkey"]] = BlacklistEntry(**doc)
    book.upsert_allowances(Allowance(**doc) for doc in docs["allowances"].values())
    for doc in docs["reservations"].values():
        book.reservations[doc["job_uuid"]] = Reservation(**doc)
    for doc in docs["jobs"].values():
        book.index_job(RoutedJob(**doc))
    for doc in docs["receipts"].values():
        receipt = Receipt(**doc)
        (book.started if receipt.kind == "started" else book.finished)[receipt.job_uuid] = receipt
        book.jobs_by_slot.setdefault((receipt.hotkey, receipt.executor_class), set()).add(receipt.job_uuid)
    for doc in sorted(docs["incidents"].values(), key=lambda d: d["at"]):
        book.incidents.setdefault(doc["hotkey"], []).append(Incident(**doc))
    meta = docs["meta"]
    if "config" in meta:
        book.config = DynamicConfig.model_validate(meta["config"])
    if "chain" in meta:
        book.chain = ChainReport(**meta["chain"])
    book.arrivals = meta.get("arrivals", 0)
    return book
