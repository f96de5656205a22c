"""How job routing's records are stored, and read back: the one home of their shape. Pure.

Each record is one JSON document (its fields) in a collection named after
its kind, under a key that identifies it: a miner by hotkey, a manifest by
hotkey and executor class, an allowance row by hotkey and cycle, a receipt
by kind and job, an incident by hotkey and job, the dynamic config and the
chain report in `meta`; audit entries go to the trail (`state.audit`);
tombstones are not documents: the store keeps them apart, never loaded.
Routing reports are never loaded either: one collection per day of decision
(`reports.<day>`, days since the epoch), keyed `<job uuid>|<decided at>`, so
a job's reports are a key range of each day, newest first, and a day past
`REPORT_RETENTION_S` (the audit trail's 90 days) goes whole.
`write` puts a mutation's `Writes` into a transaction as documents; `load_book`
rebuilds the book from them after a restart. A record stored before one of
its fields existed reads as that field's default.

Two pickers may share the database (two clusters during an upgrade), so
nothing both of them change is written from one picker's memory: an
allowance deduction is arithmetic on the row as stored, read under its lock
(`AllowanceDeduction`); a job's allowance hold is a row of its own
(`AllowanceHold`), dropped whenever its job is saved or dropped unless the
same writes hold it again; and `reload_job` makes the book's record of one
job the store's, under the job's lock, before a picker decides anything
about it.
"""

from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any

from contracts.audit import AuditEntry
from contracts.chain import ChainReport
from contracts.dynamic_config import DynamicConfig
from contracts.job_reports import REQUEST_FIELDS, RoutingReport
from contracts.jobs import Allowance, BlacklistEntry, Incident, Manifest, Miner, Receipt
from contracts.plain import plain
from organism.jobs.book import MinerBook
from organism.jobs.records import AllowanceDeduction, Reservation, RoutedJob, Writes
from organism.state import audit
from organism.state.store import AllowanceHold, Delete, DocumentStore, Put, Tombstone, Transaction

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
APPLIED = (Tombstone, AllowanceHold, AllowanceDeduction)  # not documents of their own: `write` applies them


def place(record: Any) -> tuple[str, str]:
    """The collection and key a record is stored under."""
    collection, key = PLACES[type(record)]
    return collection, key(record)


REPORTS = "reports"
REPORT_RETENTION_S = audit.RETENTION_S
REPORTS_PER_JOB = 50  # at most this many of a job's reports are read back, the newest
DAY_S = 86_400
REPORT_FORMAT = 1  # a filter or scorer added, removed or renamed is a new format, its names a new vocabulary
REPORT_VOCABULARIES = {  # format -> (filters in order, how many run before the ranking, scorers)
    1: (("not_blacklisted", "fresh_manifest", "online_executors", "allowance", "not_declined", "collateral", "free_slot"),
        4, ("fewer_recent_incidents", "more_allowance_left", "more_collateral")),
}
STORED_REPORT = tuple(f.name for f in fields(RoutingReport) if f.name not in ("filters", "candidate_filters", "scorers"))


def _document(record: Any) -> Any:
    return record.model_dump() if isinstance(record, DynamicConfig) else plain(record)


def puts(writes: Writes) -> list[Put]:
    out: list[Put] = []
    for record in writes.saved:
        if isinstance(record, AuditEntry):
            out.append(audit.put(record))
            continue
        if isinstance(record, APPLIED):
            continue
        if isinstance(record, RoutingReport):
            out.append(_report_put(record))
            continue
        out.append((*place(record), _document(record)))
    return out


def deletes(writes: Writes) -> list[Delete]:
    return [place(record) for record in writes.dropped]


def write(tx: Transaction, writes: Writes) -> None:
    tx.write(puts(writes), deletes(writes))
    if tombstones := [record for record in writes.saved if isinstance(record, Tombstone)]:
        tx.bury(tombstones)
    for job in (*writes.saved, *writes.dropped):
        if isinstance(job, RoutedJob):
            tx.drop_allowance_hold(job.job_uuid)
    for record in writes.saved:
        if isinstance(record, AllowanceHold):
            tx.hold_allowance(record)
        elif isinstance(record, AllowanceDeduction):
            _deduct(tx, record)


def _deduct(tx: Transaction, deduction: AllowanceDeduction) -> None:
    """Take the seconds from the row as the store holds it (locked until the transaction ends), so
    another picker's deduction in between is kept, not overwritten."""
    collection, key = place(Allowance(deduction.hotkey, deduction.cycle_start, deduction.cycle_stop, 0, 0))
    if (row := tx.get(collection, key)) is not None:
        tx.write([(collection, key, {**row, "remaining": row["remaining"] - deduction.seconds})])


def reload_job(tx: Transaction, book: MinerBook, job_uuid: str, lock: bool = True) -> None:
    """Make the book's record of one job (its booking, reservation and receipts) what the store holds:
    another picker may have routed, started or ended it. The job's lock is held until `tx` ends, unless
    `lock` is false: then the job is only learnt as last committed (nothing is decided about it)."""
    if lock:
        tx.lock_job(job_uuid)
    stored = (tx.get(PLACES[Reservation][0], job_uuid, lock), tx.get(PLACES[RoutedJob][0], job_uuid, lock),
              [tx.get(PLACES[Receipt][0], f"{kind}|{job_uuid}", lock) for kind in ("started", "finished")])
    _forget(book, job_uuid)
    reservation, job, receipts = stored
    if reservation is not None:
        book.reservations[job_uuid] = Reservation(**reservation)
    if job is not None:
        book.index_job(RoutedJob(**job))
    for receipt in filter(None, receipts):
        book.load_receipt(Receipt(**receipt))


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


def _forget(book: MinerBook, job_uuid: str) -> None:
    """Drop all the book knows of a job (its booking, reservation and receipts), to load it afresh."""
    if (job := book.jobs.get(job_uuid)) is not None:
        book.unbook_job(job)
    book.reservations.pop(job_uuid, None)
    for receipts in (book.started, book.finished):
        if (receipt := receipts.pop(job_uuid, None)) is not None:
            book.jobs_by_slot.get((receipt.hotkey, receipt.executor_class), set()).discard(job_uuid)
            book.full_until.pop((receipt.hotkey, receipt.executor_class), None)


def _reports_of_day(day: int) -> str:
    return f"{REPORTS}.{day}"


def _kept_days(now: float) -> range:
    """The days whose reports are kept at `now`, newest first."""
    return range(int(now // DAY_S), int((now - REPORT_RETENTION_S) // DAY_S) - 1, -1)


def reports_of(store: DocumentStore, job_uuid: str, now: float) -> list[RoutingReport]:
    """A job's routing reports, newest first (at most `REPORTS_PER_JOB`): one key range per kept day."""
    found: list[RoutingReport] = []
    for day in _kept_days(now):
        for key, doc in store.page(_reports_of_day(day), f"{job_uuid}|~", REPORTS_PER_JOB - len(found)):
            if not key.startswith(f"{job_uuid}|"):
                break  # keys descend: the job's range is over
            found.append(_report(doc))
        if len(found) >= REPORTS_PER_JOB:
            break
    return found


def _report_put(report: RoutingReport) -> Put:
    """A report as a list, not an object: a pick pays for every byte it stores, and field names would be half
    of them. The format first (it names the filters and scorers), then `STORED_REPORT`'s values in order, the
    request's and the counts' as lists in the order of `REQUEST_FIELDS` and the filters."""
    values = {name: getattr(report, name) for name in STORED_REPORT}
    values["request"] = [report.request[name] for name in REQUEST_FIELDS]
    values["rejected"] = [report.rejected[name] for name in report.filters]
    key = f"{report.job_uuid}|{report.decided_at:018.6f}"
    return _reports_of_day(int(report.decided_at // DAY_S)), key, [REPORT_FORMAT, *values.values()]


def _report(doc: list[Any]) -> RoutingReport:
    stored_format, *values = doc
    filters, candidate_filters, scorers = REPORT_VOCABULARIES[stored_format]
    fields = dict(zip(STORED_REPORT, values, strict=True))
    chosen = fields["chosen_scores"]
    return RoutingReport(**{
        **fields, "filters": filters, "candidate_filters": candidate_filters, "scorers": scorers,
        "request": dict(zip(REQUEST_FIELDS, fields["request"], strict=True)),
        "rejected": dict(zip(filters, fields["rejected"], strict=True)), "ranking": tuple(fields["ranking"]),
        "scores": tuple(map(tuple, fields["scores"])), "chosen_scores": None if chosen is None else tuple(chosen),
        "rejections": {hotkey: tuple(why) for hotkey, why in fields["rejections"].items()},
    })


def forget_reports(store: DocumentStore, now: float) -> int:
    """Drop the days of reports older than the retention (looking as far back again); how many reports."""
    kept = _kept_days(now)
    return sum(store.delete_before(_reports_of_day(day), "~") for day in range(kept[-1] - len(kept), kept[-1]))
