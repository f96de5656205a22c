"""Everything job routing knows about miners and jobs, in memory, indexed. Pure.

The records of `records`, indexed so that a pick is proportional to the
miners that have a manifest for the requested class, not to every row: the
jobs that may hold each (miner, class) slot, the jobs holding allowance on
each miner, each miner's incidents, and the jobs in routing order.

A job's life: `reserve` (reserved; its executor-seconds held against the
miner's allowance for the cycle), a `started` receipt (running; the hold
becomes the deduction the original makes), then `finished`, or `end_job`
(declined, failed, released), or its reservation lapses (expired: the hold
is returned). Whatever ends a job gives back its slot and its hold at once;
a decline, failure or timeout is an incident of the miner (`incidents`).

Every mutation answers the records it saved and dropped (`Writes`), so the
picker actor can persist them before it answers; how they are stored, and
the book rebuilt from them after a restart, is `documents`' business.
"""

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from sortedcontainers import SortedList

from contracts.audit import AuditAction, AuditStamp
from contracts.chain import ChainReport
from contracts.dynamic_config import DynamicConfig
from contracts.jobs import Allowance, BlacklistEntry, Incident, JobEvent, JobState, Manifest, Miner, Receipt
from organism.jobs.holds import AllowanceHolds
from organism.jobs.incidents import AUTO_BLACKLIST_SUBJECT, auto_blacklist, recent
from organism.jobs.receipt_lapses import ReceiptLapses
from organism.jobs.records import AllowanceDeduction, Reservation, RoutedJob, Writes
from organism.state import audit
from organism.state.store import AllowanceHold

Slot = tuple[str, str]  # (hotkey, executor class)


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
    jobs_by_slot: dict[Slot, set[str]] = field(default_factory=dict)  # job uuids that may hold the slot
    incidents: dict[str, list[Incident]] = field(default_factory=dict)  # hotkey -> oldest first
    config: DynamicConfig = field(default_factory=DynamicConfig)
    chain: ChainReport | None = None
    arrivals: int = 0
    # derived, never stored: jobs holding allowance by miner, receipts by when they lapse, jobs in routing order, miners
    # whose ranking facts changed since a candidate index last looked, slots known full until a time, rows of a block
    holds: AllowanceHolds = field(default_factory=AllowanceHolds, compare=False, repr=False)
    lapses: ReceiptLapses = field(default_factory=ReceiptLapses, compare=False, repr=False)
    order: SortedList = field(default_factory=SortedList, compare=False, repr=False)  # (routed_at, uuid)
    changed: set[str] = field(default_factory=set, compare=False, repr=False)
    full_until: dict[Slot, float] = field(default_factory=dict, compare=False, repr=False)
    rows_of_block: tuple[int, dict[str, Allowance]] | None = field(default=None, compare=False, repr=False)

    # --- reading --------------------------------------------------------------------
    def allowance_rows(self, block: int) -> dict[str, Allowance]:
        """Allowance rows of the cycle that contains `block` (the newest wins on overlap), built once per block, not per pick."""
        if self.rows_of_block is None or self.rows_of_block[0] != block:
            rows: dict[str, Allowance] = {}
            for (start, stop), by_hotkey in sorted(self.allowances.items()):
                if start <= block < stop:
                    rows.update(by_hotkey)
            self.rows_of_block = (block, rows)
        return self.rows_of_block[1]

    def forget_cycles_before(self, block: int) -> Writes:
        """Allowance rows of the cycles that ended before `block` leave (no pick reads them)."""
        ended = [cycle for cycle in self.allowances if cycle[1] <= block]
        self.rows_of_block = None
        return Writes(dropped=[row for cycle in ended for row in self.allowances.pop(cycle).values()])

    def holds_slot(self, job_uuid: str, slot: Slot, now: float) -> bool:
        """Reserved on `slot` (unexpired) or started there (within its ttl), and not finished.
        Only the slot it is on counts it: a job routed again elsewhere holds nothing here."""
        if job_uuid in self.finished:
            return False
        reservation = self.reservations.get(job_uuid)
        if reservation is not None and (reservation.hotkey, reservation.executor_class) == slot and reservation.active(now):
            return True
        started = self.started.get(job_uuid)
        return started is not None and (started.hotkey, started.executor_class) == slot and started.counts_at(now)

    def ongoing_jobs(self, hotkey: str, executor_class: str, now: float) -> int:
        """Active reservations plus unexpired started receipts, minus finished jobs."""
        slot = (hotkey, executor_class)
        return sum(self.holds_slot(u, slot, now) for u in self.jobs_by_slot.get(slot, ()))

    def has_free_slot(self, hotkey: str, executor_class: str, online: int, now: float) -> bool:
        """Fewer ongoing jobs than `online` executors; a full slot is remembered until its
        first booking can lapse (or anything about that slot changes)."""
        slot = (hotkey, executor_class)
        if self.full_until.get(slot, 0.0) > now:
            return False
        booked = self.jobs_by_slot.get(slot, ())
        if len(booked) < online:  # fewer jobs ever booked on it than executors: no need to look closer
            return True
        holding = [u for u in booked if self.holds_slot(u, slot, now)]
        if len(holding) < online:
            return True
        self.full_until[slot] = min(self._holds_until(u) for u in holding)
        return False

    def _holds_until(self, job_uuid: str) -> float:
        reservation, started = self.reservations.get(job_uuid), self.started.get(job_uuid)
        return max(reservation.expires_at if reservation else 0.0, started.timestamp + started.ttl_s if started else 0.0)

    def active_booking(self, job_uuid: str, now: float) -> RoutedJob | None:
        """The booking of a job routed here, if it still holds a slot."""
        job = self.jobs.get(job_uuid)
        return job if job is not None and self.holds_slot(job_uuid, (job.hotkey, job.executor_class), now) else None

    def held_seconds(self, hotkey: str, cycle: tuple[int, int], now: float) -> float:
        """Executor-seconds of `hotkey`'s allowance in `cycle` that active reservations hold."""
        return self.holds.held(hotkey, cycle, now)

    def allowance_left(self, row: Allowance, now: float) -> float:
        """The row's remaining seconds minus what reservations hold: what a new pick may use."""
        return row.remaining - self.held_seconds(row.hotkey, (row.cycle_start, row.cycle_stop), now)

    def next_hold_lapse(self, hotkey: str, now: float) -> float | None:
        """When the first of `hotkey`'s holds lapses with its reservation (its allowance grows)."""
        return self.holds.next_lapse(hotkey, now)

    def recent_incidents(self, hotkey: str, now: float) -> list[Incident]:
        return recent(self.incidents.get(hotkey, ()), self.config, now)

    # --- facts (each answers what to persist) --------------------------------------------
    def upsert_miner(self, miner: Miner) -> Writes:
        self.miners[miner.hotkey] = miner
        self.changed.add(miner.hotkey)
        return Writes([miner])

    def deregister(self, hotkey: str) -> Writes:
        """The miner and its manifests go; its jobs, incidents, blacklist entry and allowances stay."""
        dropped: list = [self.miners.pop(hotkey)] if hotkey in self.miners else []
        for executor_class, by_hotkey in self.manifests.items():
            if (manifest := by_hotkey.pop(hotkey, None)) is not None:
                dropped.append(manifest)
                self.full_until.pop((hotkey, executor_class), None)
        self.changed.add(hotkey)
        return Writes(dropped=dropped)

    def add_manifests(self, manifests: Iterable[Manifest]) -> Writes:
        saved: list[Manifest] = []
        for manifest in manifests:
            self.arrivals += 1
            manifest.arrival = self.arrivals
            by_hotkey = self.manifests.setdefault(manifest.executor_class, {})
            current = by_hotkey.get(manifest.hotkey)
            if current is None or manifest.recency >= current.recency:
                by_hotkey[manifest.hotkey] = manifest
                self.changed.add(manifest.hotkey)
                self.full_until.pop((manifest.hotkey, manifest.executor_class), None)
                saved.append(manifest)
        return Writes(saved)

    def set_blacklist(self, entry: BlacklistEntry) -> Writes:
        self.blacklist[entry.hotkey] = entry
        self.changed.add(entry.hotkey)
        return Writes([entry])

    def lift_blacklist(self, hotkey: str) -> Writes:
        entry = self.blacklist.pop(hotkey, None)
        self.changed.add(hotkey)
        return Writes(dropped=[entry] if entry else [])

    def upsert_allowances(self, rows: Iterable[Allowance]) -> Writes:
        saved: list[Allowance] = []
        for row in rows:
            self.allowances.setdefault((row.cycle_start, row.cycle_stop), {})[row.hotkey] = row
            self.rows_of_block = None
            self.changed.add(row.hotkey)
            saved.append(row)
        return Writes(saved)

    def set_config(self, config: DynamicConfig) -> Writes:
        self.config = config
        self.changed.update(self.miners)  # the ranking and the incident rule may read it
        return Writes([config])

    def set_chain(self, report: ChainReport) -> Writes:
        self.chain = report
        return Writes([report])

    # --- a job's life ---------------------------------------------------------------------
    def reserve(self, reservation: Reservation, job: RoutedJob, hold_cycle: tuple[int, int] | None) -> Writes:
        """Book `job`; with `hold_cycle`, its executor-seconds are held in that cycle's allowance."""
        earlier = self.jobs.get(job.job_uuid)
        if earlier is not None:  # routed again after its booking ended or lapsed: one history
            job.allowance_deducted = earlier.allowance_deducted  # deduct at most once, ever
            job.history, job.declined_by = earlier.history, earlier.declined_by
            self.unbook_job(earlier)
        job.state, job.hold_cycle = JobState.RESERVED.value, hold_cycle
        job.history.append(JobEvent(JobState.RESERVED.value, reservation.created_at, job.hotkey, job.reason))
        self.reservations[reservation.job_uuid] = reservation
        self.index_job(job)
        if hold_cycle is None:
            return Writes([reservation, job])
        return Writes([reservation, job, AllowanceHold(job.job_uuid, job.hotkey, *hold_cycle, job.executor_seconds,
                                                       reservation.expires_at)])

    def load_receipt(self, receipt: Receipt) -> None:
        """Index a started or finished receipt: it may hold its slot."""
        self.full_until.pop((receipt.hotkey, receipt.executor_class), None)
        self.jobs_by_slot.setdefault((receipt.hotkey, receipt.executor_class), set()).add(receipt.job_uuid)
        (self.finished if receipt.kind == "finished" else self.started)[receipt.job_uuid] = receipt
        self.lapses.add(receipt)

    def record_receipt(self, receipt: Receipt, current_block: int | None) -> Writes:
        """A started or finished receipt. A start releases the job's reservation (the receipt now
        holds the slot) and turns a hold into a deduction from the miner's allowance, once."""
        writes = Writes([receipt])
        self.load_receipt(receipt)
        if (reservation := self.reservations.pop(receipt.job_uuid, None)) is not None:
            writes.dropped.append(reservation)
        job = self.jobs.get(receipt.job_uuid)
        if job is None:
            return writes
        self._release_hold(job)
        state = JobState.FINISHED if receipt.kind == "finished" else JobState.RUNNING
        job.state = state.value
        job.history.append(JobEvent(state.value, receipt.timestamp, receipt.hotkey))
        if state is JobState.RUNNING and not job.allowance_deducted and current_block is not None:
            if (row := self.allowance_rows(current_block).get(job.hotkey)) is not None:
                row.remaining -= job.executor_seconds
                self.changed.add(row.hotkey)
                writes.saved.append(AllowanceDeduction(row.hotkey, row.cycle_start, row.cycle_stop, job.executor_seconds))
            job.allowance_deducted = True
        writes.saved.append(job)
        return writes

    def end_job(
        self, job_uuid: str, state: JobState, at: float, reason: str, incident: str | None, slot: Slot,
        reporter: AuditStamp,
    ) -> Writes:
        """The job on `slot` ended (declined, failed, released): its reservation and started
        receipt go, so its slot and its hold are free at once; `incident` is the miner's, as
        `reporter` (a caller) reports it."""
        writes = Writes()
        if (reservation := self.reservations.pop(job_uuid, None)) is not None:
            writes.dropped.append(reservation)
        if (started := self.started.pop(job_uuid, None)) is not None:
            writes.dropped.append(started)
        self.full_until.pop(slot, None)
        self.changed.add(slot[0])
        if (job := self.jobs.get(job_uuid)) is not None:
            self._release_hold(job)
            job.state = state.value
            job.history.append(JobEvent(state.value, at, job.hotkey, reason))
            if incident is not None and job.hotkey not in job.declined_by:
                job.declined_by.append(job.hotkey)  # a new pick of this uuid passes it over
            writes.saved.append(job)
        if incident is not None:
            writes += self._record_incident(Incident(incident, slot[0], job_uuid, at, reporter.subject), reporter)
        return writes

    def _record_incident(self, incident: Incident, reporter: AuditStamp) -> Writes:
        """One incident per miner and job, however often it is reported; a blacklist it triggers is
        audited with the incidents, jobs and callers behind it."""
        kept = self.incidents.setdefault(incident.hotkey, [])
        if any(i.job_uuid == incident.job_uuid for i in kept):
            return Writes()
        kept.append(incident)
        entry = auto_blacklist(kept, self.config, incident.at, self.blacklist.get(incident.hotkey))
        if entry is None:
            return Writes([incident])
        behind = [asdict(i) for i in recent(kept, self.config, incident.at)]
        trail = audit.entry(AuditStamp(AUTO_BLACKLIST_SUBJECT, "system", reporter.correlation_id), AuditAction.MINER_BLACKLIST_AUTO,
                            incident.hotkey, incident.at, None, {"entry": asdict(entry), "incidents": behind})
        return Writes([incident, trail]) + self.set_blacklist(entry)

    def index_job(self, job: RoutedJob) -> None:
        """Add a booked (or loaded) job to the indexes."""
        self.jobs[job.job_uuid] = job
        self.order.add((job.routed_at, job.job_uuid))
        self.jobs_by_slot.setdefault((job.hotkey, job.executor_class), set()).add(job.job_uuid)
        self.full_until.pop((job.hotkey, job.executor_class), None)
        if job.hold_cycle is not None and job.state == JobState.RESERVED.value and (reservation := self.reservations.get(job.job_uuid)):
            self.holds.hold(job.hotkey, job.job_uuid, job.hold_cycle, job.executor_seconds, reservation.expires_at)
            self.changed.add(job.hotkey)

    def unbook_job(self, job: RoutedJob) -> None:
        """Remove a job from the indexes (routed again, or forgotten)."""
        del self.jobs[job.job_uuid]
        self.order.discard((job.routed_at, job.job_uuid))
        self.jobs_by_slot.get((job.hotkey, job.executor_class), set()).discard(job.job_uuid)
        self.full_until.pop((job.hotkey, job.executor_class), None)
        self._release_hold(job)

    def _release_hold(self, job: RoutedJob) -> None:
        if self.holds.release(job.hotkey, job.job_uuid):
            self.changed.add(job.hotkey)
