"""What a replay saw, counted as it goes: the raw material of a report. Pure.

Per decision: its time and its answer (a booking, or a refusal by kind);
per job: when it was first asked for, how often booked, how long until its
first booking, its last refusal while it had none; per miner: bookings and
their executor-seconds, incidents, automatic blacklists, and the allowance
rows it was given (the very rows the book deducts from, so what is left at
the end is read off them). A recorded trace's live answers are compared
with the simulation's as they come.
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from contracts.jobs import Allowance, Incident, JobRouted, JobSpec
from contracts.refusals import Refusal, RefusalKind
from organism.jobs.records import Change


@dataclass
class Observations:
    decision_s: list[float] = field(default_factory=list)
    refusals: Counter = field(default_factory=Counter)  # refusal kind -> decisions
    routed_decisions: int = 0
    first_asked: dict[str, float] = field(default_factory=dict)
    bookings: Counter = field(default_factory=Counter)  # job uuid -> bookings
    last_refusal: dict[str, str] = field(default_factory=dict)  # jobs not booked yet -> why
    waits_s: list[float] = field(default_factory=list)  # first ask -> first booking
    booked_jobs: Counter = field(default_factory=Counter)  # hotkey -> bookings
    booked_seconds: Counter = field(default_factory=Counter)  # hotkey -> executor-seconds booked
    incidents: Counter = field(default_factory=Counter)  # hotkey -> incidents recorded
    auto_blacklists: list[tuple[float, str]] = field(default_factory=list)
    declines: int = 0
    declines_with_incident: int = 0
    live_matched: int = 0
    live_differed: list[tuple[str, str, str]] = field(default_factory=list)  # (job, live, simulated)
    facts_refused: Counter = field(default_factory=Counter)
    skipped_receipts: int = 0
    rows: dict[tuple[str, int, int], Allowance] = field(default_factory=dict)
    never_booked: Counter = field(default_factory=Counter)  # at the end: last refusal kind -> jobs

    def requested(self, job_uuid: str, now: float) -> None:
        self.first_asked.setdefault(job_uuid, now)

    def was_requested(self, job_uuid: str) -> bool:
        return job_uuid in self.first_asked

    def bookings_of(self, job_uuid: str) -> int:
        return self.bookings[job_uuid]

    def decision(self, seconds: float) -> None:
        self.decision_s.append(seconds)

    def refused(self, kind: RefusalKind, job_uuid: str) -> None:
        self.refusals[kind.value] += 1
        if job_uuid not in self.bookings:
            self.last_refusal[job_uuid] = kind.value

    def routed(self, answer: JobRouted, spec: JobSpec, now: float) -> None:
        self.routed_decisions += 1
        if answer.reason != "selected" or answer.replayed:
            return
        if spec.job_uuid not in self.bookings:
            self.waits_s.append(now - self.first_asked[spec.job_uuid])
            self.last_refusal.pop(spec.job_uuid, None)
        self.bookings[spec.job_uuid] += 1
        self.booked_jobs[answer.miner.hotkey] += 1
        self.booked_seconds[answer.miner.hotkey] += spec.executor_seconds

    def declined(self, change: Change | Refusal) -> None:
        if isinstance(change, Change):
            self.declines += 1
            self.declines_with_incident += any(isinstance(r, Incident) for r in change.writes.saved)

    def compare_live(self, live: dict[str, Any], job_uuid: str, answer: JobRouted | Refusal) -> None:
        simulated = answer.kind.value if isinstance(answer, Refusal) else answer.miner.hotkey
        recorded = str(live.get("refused") or live.get("hotkey"))
        if recorded == simulated:
            self.live_matched += 1
        else:
            self.live_differed.append((job_uuid, recorded, simulated))

    def allowance_rows(self, rows: list[Allowance]) -> None:
        for row in rows:
            self.rows[(row.hotkey, row.cycle_start, row.cycle_stop)] = row

    def close(self) -> None:
        self.never_booked = Counter(self.last_refusal.values())
