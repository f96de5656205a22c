"""HTTP routes of job routing (`/organism`): picks, jobs, and the facts picks use.

`JobApi` is the job wing of the OrganismManager's app: its routes are its
methods (`servekit.routes`), over the replica's `PickerClient`. Routes
validate (pydantic), ask the picker (`contracts.picker`), and show its typed
answer; a refusal becomes HTTP through the organism's one table
(`organism.api`: 503 + Retry-After for busy miners, 404 for unknown hotkeys
and jobs, 422 for invalid changes, 409 for the rest).
Roles: routing and reading need `service`; facts (miners, manifests,
allowances, receipts, the chain) need `facts`; blacklisting, the dynamic
configuration and the trace log (`GET /jobs/trace`) need `admin`.
"""

import time
from dataclasses import asdict, fields
from typing import Annotated
from uuid import UUID

from fastapi import Body, Path, Query, Response

from contracts.bounds import Hotkey
from contracts.dynamic_config import DynamicConfig, DynamicConfigPatch, ExecutorClassName
from contracts.jobs import Allowance, JobRouted, JobSpec, JobState, JobView, Manifest, Miner
from contracts.plain import plain
from contracts.refusals import RefusalKind, Unavailable
from contracts.wire import JobRouteRequest, JobRouteResponse
from organism.api import CHANGE, HINT, accepted, acknowledged
from organism.control_plane import Acknowledged, ReplicaControl
from organism.jobs.models import (
    AllowancesIn,
    BlacklistIn,
    BlacklistOut,
    ChainIn,
    ChainOut,
    JobEventOut,
    JobMinerOut,
    JobOut,
    JobReportsOut,
    JobsOut,
    ManifestsIn,
    MinerIn,
    MinerOut,
    MinersOut,
    MinerStatusOut,
    ReceiptIn,
    ReleaseIn,
    RoutingReportOut,
    TraceOut,
)
from organism.jobs.picker_client import PickerClient
from organism.jobs.simulation import trace
from organism.state.audit import current_stamp
from servekit.auth import require_admin, require_facts, require_service
from servekit.control_plane import requires_control_plane
from servekit.errors import ApiError, validation_error
from servekit.openapi import errors
from servekit.routes import route

TAGS = ["job routing"]
ROUTED_FIELDS = tuple(field.name for field in fields(JobRouted) if field.name != "explain")
HotkeyPath = Annotated[Hotkey, Path(description="the miner's hotkey")]
JobUuidPath = Annotated[UUID, Path(description="the job's uuid")]
PageLimit = Annotated[int, Query(ge=1, le=1000, description="at most this many per page")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page")]
TraceCursor = Annotated[str | None, Query(pattern=r"^\d{11}\.\d{6}\|\d{12}\|[0-9a-f]{8}$",
                                          description="`next_cursor` of the previous page")]


def _job_out(view: JobView) -> JobOut:
    contact = asdict(view.miner) if view.miner else {"address": None, "port": None, "ip_version": None}
    miner = JobMinerOut(**{**contact, "hotkey": view.hotkey})
    fields = {k: v for k, v in asdict(view).items() if k not in ("hotkey", "miner", "history")}
    return JobOut(**fields, miner=miner, history=[JobEventOut(**asdict(e)) for e in view.history])


def _job_cursor(cursor: str | None) -> tuple[float, str] | None:
    """`next_cursor` of a jobs page: `<routed_at>~<uuid>`."""
    if cursor is None:
        return None
    routed_at, _, job_uuid = cursor.partition("~")
    try:
        return float(routed_at), str(UUID(job_uuid))
    except ValueError:
        raise validation_error([("cursor", "not a cursor this API gave out")]) from None


class JobApi:
    def __init__(self, jobs: PickerClient, control: ReplicaControl) -> None:
        self.jobs = jobs
        self.picker = jobs.picker
        self.control = control

    async def _changed(self, response: Response, reason: str) -> None:
        """The picker made a change of the control plane: a new version, answered once in force everywhere.
        The change is in force (the picker is its one authority) even when the registry cannot say so."""
        try:
            change = await self.control.advance(reason)
        except Unavailable:
            change = Acknowledged(self.control.applied, ("the runtime registry (the version did not advance)",))
        acknowledged(response, change)

    @route.post("/jobs/route", dependencies=[require_service, requires_control_plane], responses=errors(409))
    async def route_job(self, request: JobRouteRequest, dry_run: bool = Query(False)) -> JobRouteResponse:
        stamp = current_stamp()
        spec = JobSpec(job_uuid=str(request.uuid), **request.model_dump(exclude={"uuid"}), caller=stamp.subject,
                       caller_is_admin=stamp.role == "admin", control_version=self.control.applied)
        outcome = accepted(await self.jobs.route_job(spec, dry_run), with_ranking=dry_run)
        shown = {name: plain(getattr(outcome, name)) for name in ROUTED_FIELDS}  # the explain: as the caller asked
        return JobRouteResponse(**shown, explain=outcome.explain.as_dict(with_ranking=dry_run))

    @route.put("/miners/{hotkey}", dependencies=[require_facts, requires_control_plane])
    async def put_miner(self, miner: MinerIn, hotkey: HotkeyPath) -> MinerOut:
        stored = await self.picker.upsert_miner(Miner(hotkey=hotkey, **miner.model_dump(mode="python")), current_stamp())
        return MinerOut(**asdict(stored))

    @route.get("/jobs/trace", dependencies=[require_admin])
    async def get_trace(self, since: Annotated[float, Query(ge=0, description="Unix seconds")] = 0.0,
                        limit: PageLimit = 1000, cursor: TraceCursor = None) -> TraceOut:
        """The routing inputs the picker committed from `since` on, oldest first, as a routing trace's lines
        (`routing trace export` writes them to a file `routing simulate` replays); `limit` changes a page."""
        events, following = await self.picker.trace_page(since, cursor, limit)
        return TraceOut(header=trace.HEADER, events=events, next_cursor=following)

    @route.get("/jobs/{job_uuid}", dependencies=[require_service], responses=errors(404))
    async def get_job(self, job_uuid: JobUuidPath) -> JobOut:
        return _job_out(accepted(await self.picker.job(str(job_uuid))))

    @route.get("/jobs/{job_uuid}/report", dependencies=[require_service], responses=errors(404))
    async def get_report(self, job_uuid: JobUuidPath) -> JobReportsOut:
        """Why each pick of this job went where it did: the request, every judged miner's verdicts, the
        ranking and its inputs, the outcome. A service reads its own jobs' reports; an admin every one."""
        reports = accepted(await self.picker.reports(str(job_uuid), current_stamp()))
        return JobReportsOut(job_uuid=str(job_uuid), reports=[RoutingReportOut(**r.as_dict()) for r in reports])

    @route.get("/jobs", dependencies=[require_service])
    async def list_jobs(
        self, state: JobState | None = None, hotkey: Annotated[Hotkey | None, Query()] = None,
        limit: PageLimit = 100, cursor: Cursor = None,
    ) -> JobsOut:
        """Jobs newest first (by when they were last routed), in `state` and on `hotkey` if given."""
        page, following = await self.picker.jobs(limit, _job_cursor(cursor), state and state.value, hotkey)
        return JobsOut(jobs=[_job_out(v) for v in page], next_cursor=following and f"{following[0]!r}~{following[1]}")

    @route.post("/jobs/{job_uuid}/release", dependencies=[require_service, requires_control_plane], responses=errors(404))
    async def release_job(self, job_uuid: JobUuidPath, release: Annotated[ReleaseIn, Body()]) -> JobOut:
        """Give the job's slot and held allowance back at once; idempotent. `declined`, `failed` and
        `timeout` are incidents of the miner, which a new pick of this uuid passes over."""
        return _job_out(accepted(await self.picker.release_job(str(job_uuid), release.reason, current_stamp())))

    @route.get("/miners", dependencies=[require_service], response_model=MinersOut)
    async def get_miners(
        self, executor_class: Annotated[ExecutorClassName | None, Query()] = None, blacklisted: bool | None = None,
        limit: PageLimit = 500, cursor: Annotated[Hotkey | None, Query(description="`next_cursor` of the previous page")] = None,
    ) -> Response:
        """Miners by hotkey; only those with a manifest of `executor_class`, and (not) blacklisted now, if given."""
        # encoded by the picker beside its book (`organism/jobs/listing.py`); FastAPI would validate it again
        return Response(await self.picker.miners(limit, cursor, executor_class, blacklisted), media_type="application/json")

    @route.get("/miners/{hotkey}", dependencies=[require_service], responses=errors(404))
    async def get_miner(self, hotkey: HotkeyPath) -> MinerStatusOut:
        return MinerStatusOut.of(accepted(await self.picker.miner(hotkey)))

    @route.delete("/miners/{hotkey}", status_code=204, dependencies=[require_facts, requires_control_plane], openapi_extra=CHANGE,
                    responses=errors(404))
    async def deregister_miner(self, hotkey: HotkeyPath) -> Response:
        """The miner leaves the candidates; its jobs, incidents and blacklist entry stay."""
        accepted(await self.picker.deregister(hotkey, current_stamp()))
        response = Response(status_code=204)
        await self._changed(response, f"miner {hotkey} removed")
        return response

    @route.post("/manifests", dependencies=[require_facts, requires_control_plane], responses=errors(404))
    async def post_manifests(self, batch: ManifestsIn) -> ManifestsIn:
        now = time.time()
        records = [
            Manifest(**{**m.model_dump(), "observed_at": now if m.observed_at is None else m.observed_at}, arrival=0)
            for m in batch.manifests
        ]
        stored = accepted(await self.picker.add_manifests(records))
        return ManifestsIn(manifests=[{k: v for k, v in asdict(r).items() if k != "arrival"} for r in stored])

    @route.post("/miners/{hotkey}/blacklist", dependencies=[require_admin, requires_control_plane], openapi_extra=CHANGE, responses=errors(404))
    async def blacklist_miner(self, entry: BlacklistIn, hotkey: HotkeyPath, response: Response) -> BlacklistOut:
        answer = accepted(await self.picker.blacklist(hotkey, entry.reason, entry.duration_s, current_stamp()))
        await self._changed(response, f"miner {hotkey} blacklisted")
        return BlacklistOut(**asdict(answer))

    @route.delete("/miners/{hotkey}/blacklist", status_code=204, dependencies=[require_admin, requires_control_plane], openapi_extra=CHANGE,
                    responses=errors(404))
    async def lift_blacklist(self, hotkey: HotkeyPath) -> Response:
        accepted(await self.picker.lift_blacklist(hotkey, current_stamp()))
        response = Response(status_code=204)
        await self._changed(response, f"miner {hotkey} lifted off the blacklist")
        return response

    @route.put("/allowances", dependencies=[require_facts, requires_control_plane], responses=errors(404))
    async def put_allowances(self, batch: AllowancesIn) -> AllowancesIn:
        cycle = batch.cycle
        rows = [Allowance(r.hotkey, cycle.start, cycle.stop, r.initial, r.remaining) for r in batch.allowances]
        stored = accepted(await self.picker.upsert_allowances(rows, current_stamp()))
        return AllowancesIn(
            cycle=cycle, allowances=[{"hotkey": r.hotkey, "initial": r.initial, "remaining": r.remaining} for r in stored]
        )

    @route.post("/receipts", dependencies=[require_facts, requires_control_plane], responses=errors(404, 409))
    async def post_receipt(self, receipt: ReceiptIn) -> ReceiptIn:
        timestamp = receipt.timestamp if receipt.timestamp is not None else time.time()
        stored = await self.picker.record_receipt(
            receipt.kind, str(receipt.job_uuid), receipt.hotkey, receipt.executor_class,
            timestamp, receipt.ttl_s, current_stamp(),
        )
        return ReceiptIn(**asdict(accepted(stored)))

    @route.put("/chain", dependencies=[require_facts, requires_control_plane])
    async def put_chain(self, report: ChainIn) -> ChainOut:
        return ChainOut(**asdict(await self.picker.set_block(report.block, current_stamp())))

    @route.get("/chain", dependencies=[require_service], responses=errors(404))
    async def get_chain(self) -> ChainOut:
        chain = await self.picker.chain()
        if chain is None:
            raise ApiError(404, RefusalKind.CURRENT_BLOCK_UNKNOWN.value, f"no block reported yet; {HINT[RefusalKind.CURRENT_BLOCK_UNKNOWN]}")
        return ChainOut(**asdict(chain))

    @route.get("/config", dependencies=[require_service])
    async def get_config(self) -> DynamicConfig:
        return await self.picker.config()

    @route.patch("/config", dependencies=[require_admin, requires_control_plane], openapi_extra=CHANGE)
    async def patch_config(self, patch: DynamicConfigPatch, response: Response) -> DynamicConfig:
        config = accepted(await self.picker.patch_config(patch, current_stamp()))
        await self._changed(response, "dynamic config patched")
        return config
