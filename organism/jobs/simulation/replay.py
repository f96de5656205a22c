"""A trace replayed through the picker's own pure code, on a virtual clock. Pure.

`Simulation` keeps a `MinerBook` and a `CandidateIndex` as the live picker
does, and feeds them each event at its `at`: facts and config through
`facts`, receipts and releases through `lifecycle`, job requests through
`booking.route` (the very function `MinerPicker` runs), pruned on the live
picker's cadence (`retention.prune`), finished uuids buried as tombstones
in memory. Nothing is written anywhere: each `Writes` is only looked at
(incidents, automatic blacklists) and dropped.

What the miners and the caller do after a booking comes from the trace:
a route event's `then` reactions are scheduled on the virtual clock
(receipts, releases), and its `attempts` let the caller ask again after a
busy refusal (at its `retry_after_s`) or an ended attempt. Receipts and
releases of a job the trace routes apply to the miner the simulation booked
(under another configuration it may be another one), and are skipped when
the simulation did not book it; receipts of jobs not routed here (other
work) are facts as they are. A compared configuration (`overrides`) is a
config patch applied at the start and after every `config` event. A `seed`
event (a live picker's start, in a recorded trace) reseeds the spread's
draws with it, mixed with the simulation's own `seed` (0: exactly the live draws).
"""

import heapq
import itertools
import time
from collections.abc import Callable, Iterable
from random import Random
from typing import Any

from contracts.audit import AuditAction, AuditEntry, AuditStamp
from contracts.dynamic_config import DynamicConfigPatch
from contracts.jobs import Allowance, Incident, JobRouted, JobSpec, Manifest, Miner
from contracts.refusals import Refusal, RefusalKind
from organism.jobs import booking, facts, lifecycle
from organism.jobs.answers import current_block
from organism.jobs.book import MinerBook
from organism.jobs.candidate_index import CandidateIndex
from organism.jobs.records import Change, Writes
from organism.jobs.retention import PRUNE_EVERY_S, prune
from organism.jobs.simulation.observations import Observations
from organism.jobs.simulation.trace import Event, TraceError
from organism.state.store import Tombstone

OPERATOR = AuditStamp("simulator", "admin", "simulation")  # who changes facts and config in a replay
FEEDER = "feeder"  # who reports receipts unless the trace says
DEFAULT_CALLER = "validator"


class Simulation:
    def __init__(self, overrides: dict[str, Any] | None = None, netuid: int = 12, seed: int = 0,
                 timer: Callable[[], float] = time.perf_counter) -> None:
        self.book, self.index, self.netuid = MinerBook(), CandidateIndex(), netuid
        self.random, self.seed, self.timer = Random(seed), seed, timer
        self.overrides = DynamicConfigPatch.model_validate(overrides or {})
        self.observed = Observations()
        self._pending: list[tuple[float, int, Callable[[float], None]]] = []  # scheduled reactions and retries
        self._sequence = itertools.count()
        self._tombstones: dict[str, float] = {}
        self._pruned_at = float("-inf")
        self._apply_facts(facts.patch_config(self.book, self.overrides, OPERATOR, 0.0), "config")
        self._handlers = {"config": self._config, "miner": self._miner, "deregister": self._deregister,
                          "manifests": self._manifests, "allowances": self._allowances, "block": self._block,
                          "blacklist": self._blacklist, "lift": self._lift, "route": self._route,
                          "receipt": self._receipt, "release": self._release, "seed": self._seed}

    def run(self, events: Iterable[Event]) -> Observations:
        for event in events:
            self._run_until(event.at)
            self._handlers[event.kind](event.at, event.fields, event.line)
        self._run_until(float("inf"))
        self.observed.close()
        return self.observed

    def _run_until(self, at: float) -> None:
        while self._pending and self._pending[0][0] <= at:
            when, _, action = heapq.heappop(self._pending)
            action(when)

    def _later(self, at: float, action: Callable[[float], None]) -> None:
        heapq.heappush(self._pending, (at, next(self._sequence), action))

    # --- facts and config -----------------------------------------------------------------
    def _apply_facts(self, change: Change | Refusal, kind: str) -> None:
        if isinstance(change, Refusal):
            self.observed.facts_refused[f"{kind}: {change.kind.value}"] += 1
        else:
            self._look_at(change.writes)

    def _config(self, now: float, fields: dict[str, Any], line: int) -> None:
        try:
            patch = DynamicConfigPatch.model_validate(fields["patch"])
        except ValueError as problem:
            raise TraceError(line, f"config: {problem}") from None
        self._apply_facts(facts.patch_config(self.book, patch, OPERATOR, now), "config")
        self._apply_facts(facts.patch_config(self.book, self.overrides, OPERATOR, now), "config")

    def _miner(self, now: float, fields: dict[str, Any], line: int) -> None:
        miner = Miner(**{**fields, "collateral_wei": int(fields["collateral_wei"])})
        self._apply_facts(facts.register(self.book, miner, OPERATOR, now), "miner")

    def _deregister(self, now: float, fields: dict[str, Any], line: int) -> None:
        self._apply_facts(facts.deregister(self.book, fields["hotkey"], OPERATOR, now), "deregister")

    def _manifests(self, now: float, fields: dict[str, Any], line: int) -> None:
        rows = [Manifest(**{"observed_at": now, **row, "arrival": 0}) for row in fields["manifests"]]
        self._apply_facts(facts.manifests(self.book, rows, now), "manifests")

    def _allowances(self, now: float, fields: dict[str, Any], line: int) -> None:
        rows = [Allowance(**row) for row in fields["allowances"]]
        change = facts.allowances(self.book, rows, OPERATOR, now)
        self._apply_facts(change, "allowances")
        if not isinstance(change, Refusal):
            self.observed.allowance_rows(rows)

    def _block(self, now: float, fields: dict[str, Any], line: int) -> None:
        self._apply_facts(facts.chain(self.book, fields["block"], self.netuid, OPERATOR, now), "block")

    def _blacklist(self, now: float, fields: dict[str, Any], line: int) -> None:
        change = facts.blacklist(self.book, fields["hotkey"], fields["reason"], fields.get("duration_s"), OPERATOR, now)
        self._apply_facts(change, "blacklist")

    def _lift(self, now: float, fields: dict[str, Any], line: int) -> None:
        self._apply_facts(facts.lift_blacklist(self.book, fields["hotkey"], OPERATOR, now), "lift")

    def _seed(self, now: float, fields: dict[str, Any], line: int) -> None:
        """Where the live picker (re)started: its draws from here on; `seed` 0 draws exactly as it did."""
        self.random.seed(fields["seed"] ^ self.seed)

    def _look_at(self, writes: Writes) -> None:
        """What a change recorded that the report counts: incidents, automatic blacklists, tombstones."""
        for record in writes.saved:
            if isinstance(record, Incident):
                self.observed.incidents[record.hotkey] += 1
            elif isinstance(record, AuditEntry) and record.action == AuditAction.MINER_BLACKLIST_AUTO:
                self.observed.auto_blacklists.append((record.at, record.target))
            elif isinstance(record, Tombstone):
                self._tombstones[record.job_uuid] = record.until

    # --- jobs -----------------------------------------------------------------------------
    def _route(self, now: float, fields: dict[str, Any], line: int) -> None:
        job = fields["job"]
        spec = JobSpec(**{**job, "caller": job.get("caller", DEFAULT_CALLER)})
        self.observed.requested(spec.job_uuid, now)
        self._ask(spec, fields, fields.get("attempts", 1), now)

    def _ask(self, spec: JobSpec, fields: dict[str, Any], attempts_left: int, now: float) -> None:
        self._prune(now)
        started = self.timer()
        answer, writes = booking.route(self.book, spec, self.netuid, now, self.index,
                                       lambda job_uuid: self._tombstones.get(job_uuid, now) > now, lambda hotkey: True,
                                       self.random)
        self.observed.decision(self.timer() - started)
        self._look_at(writes)
        live = fields.get("live")
        if live is not None:
            self.observed.compare_live(live, spec.job_uuid, answer)
        if isinstance(answer, Refusal):
            self.observed.refused(answer.kind, spec.job_uuid)
            if answer.kind is RefusalKind.ALL_MINERS_BUSY and attempts_left > 1:
                self._later(now + (answer.retry_after_s or 1), lambda at: self._ask(spec, fields, attempts_left - 1, at))
            return
        self.observed.routed(answer, spec, now)
        if answer.reason == "selected" and not answer.replayed:
            self._react(spec, answer, fields, attempts_left, now)

    def _react(self, spec: JobSpec, routed: JobRouted, fields: dict[str, Any], attempts_left: int, now: float) -> None:
        """Schedule what the miner does with this booking, as the trace's `then` says."""
        then = fields.get("then")
        if not then:
            return
        reaction = then[min(self.observed.bookings_of(spec.job_uuid) - 1, len(then) - 1)]
        outcome, hotkey = reaction["outcome"], routed.miner.hotkey
        start = now + reaction.get("start_after_s", 1.0)
        end = start + reaction.get("run_s", spec.execution_time_limit)
        again = (lambda at: self._ask(spec, fields, attempts_left - 1, at)) if attempts_left > 1 else None

        def receipt(kind: str, reporter: str = FEEDER) -> Callable[[float], None]:
            return lambda at: self._record_receipt(kind, spec.job_uuid, hotkey, spec.executor_class, at, at, None,
                                                   reporter)

        def release(reason: str) -> Callable[[float], None]:
            return lambda at: self._release_job(spec.job_uuid, reason, spec.caller, at)

        if outcome in ("declined", "cancelled"):
            self._later(start, release(outcome))
        else:
            self._later(start, receipt("started"))
            self._later(end, receipt("finished") if outcome == "finished" else
                        receipt("failed") if outcome == "failed" else release("timeout"))
        if again is not None and outcome not in ("finished", "cancelled"):
            self._later(end if outcome != "declined" else start, again)

    def _receipt(self, now: float, fields: dict[str, Any], line: int) -> None:
        job_uuid, hotkey, executor_class = fields["job_uuid"], fields["hotkey"], fields["executor_class"]
        if self.observed.was_requested(job_uuid):
            booked = self.book.jobs.get(job_uuid)
            if booked is None:
                self.observed.skipped_receipts += 1  # of a job the simulation did not book
                return
            hotkey, executor_class = booked.hotkey, booked.executor_class
        self._record_receipt(fields["receipt_kind"], job_uuid, hotkey, executor_class, fields.get("timestamp", now),
                             now, fields.get("ttl_s"), fields.get("reporter", FEEDER))

    def _record_receipt(self, kind: str, job_uuid: str, hotkey: str, executor_class: str, timestamp: float,
                        now: float, ttl_s: float | None, reporter: str) -> None:
        stamp = AuditStamp(reporter, "facts", "simulation")
        change = lifecycle.receipt(self.book, kind, job_uuid, hotkey, executor_class, timestamp, ttl_s, now,
                                   current_block(self.book, now), stamp)
        self._apply_facts(change, f"receipt {kind}")
        if kind == "declined":
            self.observed.declined(change)

    def _release(self, now: float, fields: dict[str, Any], line: int) -> None:
        booked = self.book.jobs.get(fields["job_uuid"])
        caller = fields.get("caller", booked.owner if booked is not None else DEFAULT_CALLER)
        self._release_job(fields["job_uuid"], fields["reason"], caller, now, fields.get("caller_is_admin", False))

    def _release_job(self, job_uuid: str, reason: str, caller: str, now: float, admin: bool = False) -> None:
        stamp = AuditStamp(caller, "admin" if admin else "service", "simulation")
        change = lifecycle.release(self.book, job_uuid, reason, now, stamp)
        self._apply_facts(change, f"release {reason}")
        if reason == "declined":
            self.observed.declined(change)

    def _prune(self, now: float) -> None:
        """As the live picker does before a batch of picks: every `PRUNE_EVERY_S`."""
        if now - self._pruned_at >= PRUNE_EVERY_S:
            self._look_at(prune(self.book, now))
            self._pruned_at = now

