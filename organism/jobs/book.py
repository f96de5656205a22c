"""Everything job routing knows about miners, in memory, indexed. Pure.

The records of `records`, indexed so that a pick is proportional to the
miners that have a manifest for the requested class, not to every row; and
the miners view (`statuses`) that `GET /miners` shows.

Every mutation returns the documents to write (`Put`s and `Delete`s) so the
picker actor can persist them before it answers; `MinerBook.load` rebuilds the
same book from those documents after a restart.
"""

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from organism.jobs.chain import ChainReport
from organism.jobs.dynamic_config import DynamicConfig
from organism.jobs.records import (
    Allowance,
    BlacklistEntry,
    Manifest,
    Miner,
    MinerStatus,
    Receipt,
    Reservation,
    RoutedJob,
)
from organism.state.store import Delete, DocumentStore, Put

RETENTION_S = 24 * 3600.0  # how long lapsed jobs and receipts are remembered
COLLECTIONS = ("miners", "manifests", "blacklist", "allowances", "receipts", "reservations", "jobs", "meta")


@dataclass
class MinerBook:
    miners: dict[str, Miner] = field(default_factory=dict)
    manifests: dict[str, dict[str, Manifest]] = field(default_factory=dict)  # class -> hotkey -> latest
    blacklist: dict[str, BlacklistEntry] = field(default_factory=dict)
    allowances: dict[tuple[int, int], dict[str, Allowance]] = field(default_factory=dict)  # cycle -> hotkey
    started: dict[str, Receipt] = field(default_factory=dict)
    finished: dict[str, Receipt] = field(default_factory=dict)
    reservations: dict[str, Reservation] = field(default_factory=dict)
    jobs: dict[str, RoutedJob] = field(default_factory=dict)
    jobs_by_slot: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (hotkey, class) -> job uuids
    config: DynamicConfig = field(default_factory=DynamicConfig)
    chain: ChainReport | None = None
    arrivals: int = 0
    # derived, never stored: miners whose ranking facts changed since a candidate index last
    # looked, and (hotkey, class) slots known to be full until a time
    changed: set[str] = field(default_factory=set, compare=False, repr=False)
    full_until: dict[tuple[str, str], float] = field(default_factory=dict, compare=False, repr=False)

    # --- reading --------------------------------------------------------------------
    def allowance_rows(self, block: int) -> dict[str, Allowance]:
        """Allowance rows of the cycle that contains `block` (the newest cycle wins on overlap)."""
        rows: dict[str, Allowance] = {}
        for (start, stop), by_hotkey in sorted(self.allowances.items()):
            if start <= block < stop:
                rows.update(by_hotkey)
        return rows

    def holds_slot(self, job_uuid: str, now: float) -> bool:
        """Reserved (unexpired) or started (within its ttl), and not finished."""
        if job_uuid in self.finished:
            return False
        reservation = self.reservations.get(job_uuid)
        started = self.started.get(job_uuid)
        return bool((reservation and reservation.active(now)) or (started and started.counts_at(now)))

    def ongoing_jobs(self, hotkey: str, executor_class: str, now: float) -> int:
        """Active reservations plus unexpired started receipts, minus finished jobs."""
        return sum(self.holds_slot(u, now) for u in self.jobs_by_slot.get((hotkey, executor_class), ()))

    def has_free_slot(self, hotkey: str, executor_class: str, online: int, now: float) -> bool:
        """Fewer ongoing jobs than `online` executors; a full slot is remembered until its
        first booking can lapse (or anything about that slot changes)."""
        key = (hotkey, executor_class)
        if self.full_until.get(key, 0.0) > now:
            return False
        holding = [u for u in self.jobs_by_slot.get(key, ()) if self.holds_slot(u, now)]
        if len(holding) < online:
            return True
        self.full_until[key] = min(self._holds_until(u) for u in holding)
        return False

    def _holds_until(self, job_uuid: str) -> float:
        reservation, started = self.reservations.get(job_uuid), self.started.get(job_uuid)
        return max(reservation.expires_at if reservation else 0.0, started.timestamp + started.ttl_s if started else 0.0)

    def _slot_changed(self, hotkey: str, executor_class: str) -> None:
        self.full_until.pop((hotkey, executor_class), None)

    def active_booking(self, job_uuid: str, now: float) -> RoutedJob | None:
        """The booking of a job routed here, if it still holds a slot."""
        job = self.jobs.get(job_uuid)
        return job if job is not None and self.holds_slot(job_uuid, now) else None

    def statuses(self, now: float, block: int | None) -> list[MinerStatus]:
        """Every miner with its active blacklist entry, latest manifests, allowance
        row of the current cycle and the ongoing jobs and free slots per class."""
        rows = self.allowance_rows(block) if block is not None else {}
        latest: dict[str, dict[str, Manifest]] = {}
        for executor_class, by_hotkey in self.manifests.items():
            for hotkey, manifest in by_hotkey.items():
                latest.setdefault(hotkey, {})[executor_class] = manifest
        statuses = []
        for hotkey, miner in sorted(self.miners.items()):
            entry = self.blacklist.get(hotkey)
            manifests = latest.get(hotkey, {})
            ongoing = {c: self.ongoing_jobs(hotkey, c, now) for c in manifests}
            statuses.append(
                MinerStatus(
                    miner=miner,
                    blacklist=entry if entry and entry.active(now) else None,
                    manifests=manifests,
                    allowance=rows.get(hotkey),
                    ongoing_jobs=ongoing,
                    free_slots={c: max(0, m.online_executor_count - ongoing[c]) for c, m in manifests.items()},
                )
            )
        return statuses

    # --- writing (each returns what to persist) -----------------------------------------
    def upsert_miner(self, miner: Miner) -> list[Put]:
        self.miners[miner.hotkey] = miner
        self.changed.add(miner.hotkey)
        return [("miners", miner.hotkey, asdict(miner))]

    def add_manifests(self, manifests: Iterable[Manifest]) -> list[Put]:
        puts: list[Put] = []
        for manifest in manifests:
            self.arrivals += 1
            manifest.arrival = self.arrivals
            by_hotkey = self.manifests.setdefault(manifest.executor_class, {})
            current = by_hotkey.get(manifest.hotkey)
            if current is None or manifest.recency >= current.recency:
                by_hotkey[manifest.hotkey] = manifest
                self.changed.add(manifest.hotkey)
                self._slot_changed(manifest.hotkey, manifest.executor_class)
                puts.append(("manifests", f"{manifest.hotkey}|{manifest.executor_class}", asdict(manifest)))
        return [*puts, ("meta", "arrivals", self.arrivals)]

    def set_blacklist(self, entry: BlacklistEntry) -> list[Put]:
        self.blacklist[entry.hotkey] = entry
        self.changed.add(entry.hotkey)
        return [("blacklist", entry.hotkey, asdict(entry))]

    def lift_blacklist(self, hotkey: str) -> list[Delete]:
        self.blacklist.pop(hotkey, None)
        self.changed.add(hotkey)
        return [("blacklist", hotkey)]

    def upsert_allowances(self, rows: Iterable[Allowance]) -> list[Put]:
        puts: list[Put] = []
        for row in rows:
            self.allowances.setdefault((row.cycle_start, row.cycle_stop), {})[row.hotkey] = row
            self.changed.add(row.hotkey)
            puts.append(("allowances", f"{row.hotkey}|{row.cycle_start}|{row.cycle_stop}", asdict(row)))
        return puts

    def reserve(self, reservation: Reservation, job: RoutedJob) -> list[Put]:
        earlier = self.jobs.get(job.job_uuid)
        if earlier is not None:  # re-routed after its booking lapsed: deduct at most once, ever
            job.allowance_deducted = earlier.allowance_deducted
        self.reservations[reservation.job_uuid] = reservation
        self._book_job(job)
        self._slot_changed(job.hotkey, job.executor_class)
        return [("reservations", reservation.job_uuid, asdict(reservation)), ("jobs", job.job_uuid, asdict(job))]

    def record_receipt(self, receipt: Receipt, current_block: int | None) -> tuple[list[Put], list[Delete]]:
        """Record a receipt. A start releases the job's reservation (the receipt now
        holds the slot) and deducts a job routed here from the miner's allowance once."""
        puts: list[Put] = [("receipts", f"{receipt.kind}|{receipt.job_uuid}", asdict(receipt))]
        deletes: list[Delete] = []
        self._slot_changed(receipt.hotkey, receipt.executor_class)
        if receipt.kind == "finished":
            self.finished[receipt.job_uuid] = receipt
            self.jobs_by_slot.setdefault((receipt.hotkey, receipt.executor_class), set()).add(receipt.job_uuid)
            return puts, deletes
        self.started[receipt.job_uuid] = receipt
        self.jobs_by_slot.setdefault((receipt.hotkey, receipt.executor_class), set()).add(receipt.job_uuid)
        if self.reservations.pop(receipt.job_uuid, None) is not None:
            deletes.append(("reservations", receipt.job_uuid))
        job = self.jobs.get(receipt.job_uuid)
        if job is not None and not job.allowance_deducted and current_block is not None:
            row = self.allowance_rows(current_block).get(job.hotkey)
            if row is not None:
                row.remaining -= job.executor_seconds
                self.changed.add(row.hotkey)
                puts.append(("allowances", f"{row.hotkey}|{row.cycle_start}|{row.cycle_stop}", asdict(row)))
            job.allowance_deducted = True
            puts.append(("jobs", job.job_uuid, asdict(job)))
        return puts, deletes

    def set_config(self, config: DynamicConfig) -> list[Put]:
        self.config = config
        return [("meta", "config", config.model_dump())]

    def set_chain(self, report: ChainReport) -> list[Put]:
        self.chain = report
        return [("meta", "chain", asdict(report))]

    def prune(self, now: float, retention_s: float = RETENTION_S) -> list[Delete]:
        """Forget what can no longer hold a slot: expired reservations leave the store;
        jobs that hold no slot leave the per-slot index (a later receipt puts them back);
        jobs and receipts idle for `retention_s` leave memory and the store."""
        deletes: list[Delete] = []
        for job_uuid in [u for u, r in self.reservations.items() if not r.active(now)]:
            del self.reservations[job_uuid]
            deletes.append(("reservations", job_uuid))
        for job_uuids in self.jobs_by_slot.values():
            job_uuids.intersection_update({u for u in job_uuids if self.holds_slot(u, now)})
        horizon = now - retention_s
        for kind, receipts in (("started", self.started), ("finished", self.finished)):
            for job_uuid in [u for u, r in receipts.items() if r.timestamp + r.ttl_s < horizon]:
                del receipts[job_uuid]
                deletes.append(("receipts", f"{kind}|{job_uuid}"))
        idle = [u for u, j in self.jobs.items()
                if j.routed_at < horizon and u not in self.reservations and u not in self.started and u not in self.finished]
        for job_uuid in idle:
            del self.jobs[job_uuid]
            deletes.append(("jobs", job_uuid))
        return deletes

    def _book_job(self, job: RoutedJob) -> None:
        self.jobs[job.job_uuid] = job
        self.jobs_by_slot.setdefault((job.hotkey, job.executor_class), set()).add(job.job_uuid)

    # --- persistence ----------------------------------------------------------------------
    @classmethod
    def load(cls, store: DocumentStore) -> "MinerBook":
        docs: dict[str, dict[str, Any]] = {name: store.load(name) for name in COLLECTIONS}
        book = cls()
        for doc in docs["miners"].values():
            book.miners[doc["hotkey"]] = Miner(**doc)
        for doc in docs["manifests"].values():
            book.manifests.setdefault(doc["executor_class"], {})[doc["hotkey"]] = Manifest(**doc)
        for doc in docs["blacklist"].values():
            book.blacklist[doc["hotkey"]] = BlacklistEntry(**doc)
        book.upsert_allowances(Allowance(**doc) for doc in docs["allowances"].values())
        for doc in docs["jobs"].values():
            book._book_job(RoutedJob(**doc))
        for doc in docs["reservations"].values():
            book.reservations[doc["job_uuid"]] = Reservation(**doc)
        for doc in docs["receipts"].values():
            receipt = Receipt(**doc)
            target = book.started if receipt.kind == "started" else book.finished
            target[receipt.job_uuid] = receipt
            book.jobs_by_slot.setdefault((receipt.hotkey, receipt.executor_class), set()).add(receipt.job_uuid)
        meta = docs["meta"]
        if "config" in meta:
            book.config = DynamicConfig.model_validate(meta["config"])
        if "chain" in meta:
            book.chain = ChainReport(**meta["chain"])
        book.arrivals = meta.get("arrivals", 0)
        return book

