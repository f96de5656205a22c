"""The miner picker as its callers see it: the actor's typed interface. Pure.

One picker serializes every pick and every change of job-routing facts for
the whole cluster (`organism.jobs.picker_actor.MinerPicker`). An
OrganismManager replica reaches it through `servekit.actors`, tests and
simulations through the in-process adapter. Every answer is a value: a
record, a view, or a `Refusal` saying why nothing changed. Changes an
operator or the feeder makes carry an `AuditStamp` (who asked).
"""

from typing import Any, Protocol

from contracts.audit import AuditPage, AuditStamp
from contracts.chain import ChainView
from contracts.dynamic_config import DynamicConfig
from contracts.job_reports import RoutingReport
from contracts.jobs import (
    Allowance,
    BlacklistEntry,
    JobCursor,
    JobRouted,
    JobSpec,
    JobView,
    Manifest,
    Miner,
    MinerStatus,
    Receipt,
)
from contracts.organ import Versioned
from contracts.refusals import Refusal


class Picker(Versioned, Protocol):
    # --- picks: in order, each seeing the bookings before it
    async def route_jobs(self, specs: list[JobSpec]) -> list[JobRouted | Refusal]: ...

    # --- facts (the feeder) and configuration (an operator)
    async def upsert_miner(self, miner: Miner, stamp: AuditStamp) -> Miner: ...

    async def deregister(self, hotkey: str, stamp: AuditStamp) -> Refusal | None: ...

    async def add_manifests(self, manifests: list[Manifest]) -> list[Manifest] | Refusal: ...

    async def blacklist(self, hotkey: str, reason: str, duration_s: float | None,
                        stamp: AuditStamp) -> BlacklistEntry | Refusal: ...

    async def lift_blacklist(self, hotkey: str, stamp: AuditStamp) -> Refusal | None: ...

    async def upsert_allowances(self, rows: list[Allowance], stamp: AuditStamp) -> list[Allowance] | Refusal: ...

    async def set_block(self, block: int, stamp: AuditStamp) -> ChainView: ...

    async def patch_config(self, patch: Any, stamp: AuditStamp) -> DynamicConfig | Refusal: ...

    async def record_receipt(self, kind: str, job_uuid: str, hotkey: str, executor_class: str, timestamp: float,
                             ttl_s: float | None, stamp: AuditStamp) -> Receipt | Refusal: ...

    # --- a job's life: its owner's (the service that routed it) or an admin's to end
    async def release_job(self, job_uuid: str, reason: str, stamp: AuditStamp) -> JobView | Refusal: ...

    # --- reads of jobs, in the queue of changes: a job is seen the moment it is routed
    async def job(self, job_uuid: str) -> JobView | Refusal: ...

    async def jobs(self, limit: int, before: JobCursor | None, state: str | None,
                   hotkey: str | None) -> tuple[list[JobView], JobCursor | None]: ...

    async def chain(self) -> ChainView | None: ...

    async def config(self) -> DynamicConfig: ...

    # --- reads beside the queue (they never make a pick wait): miners, dry runs, routing reports, the audit trail
    async def dry_run(self, spec: JobSpec) -> JobRouted | Refusal:
        """What a pick would answer now; it books nothing."""
        ...

    async def miners(self, limit: int, after: str | None = None, executor_class: str | None = None,
                     blacklisted: bool | None = None) -> bytes:
        """A page of miners by hotkey, as the JSON body `GET /organism/miners` answers (`organism/jobs/listing.py`)."""
        ...

    async def miner(self, hotkey: str) -> MinerStatus | Refusal: ...

    async def reports(self, job_uuid: str, reader: AuditStamp) -> list[RoutingReport] | Refusal:
        """The job's routing reports, newest first: every one for an admin `reader`, a service's own jobs' only."""
        ...

    async def audit_page(self, before: str | None, limit: int, action: str | None, subject: str | None) -> AuditPage: ...

    async def trace_page(self, since: float, after: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        """The routing inputs the picker committed from `since` (Unix seconds) on, after the cursor `after`, as
        trace lines (`organism/jobs/simulation/trace.py`), oldest first, up to `limit` changes; the next cursor."""
        ...

    # --- fault injection, for drills
    async def hold(self, seconds: float) -> None:
        """Be busy for `seconds` (calls queue behind it, as behind a slow database)."""
