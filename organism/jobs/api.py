"""HTTP routes of job routing (`/organism`): picks, jobs, and the facts picks use.

`JobApi` is one half of the OrganismManager's class-based FastAPI view; its
only state is `jobs`, the replica's `PickerClient`. Routes validate (pydantic),
ask the picker, and show its typed answer. A refusal becomes an HTTP error
through one table, `STATUS` (503 + Retry-After for busy miners, 404 for
unknown hotkeys and jobs, 422 for invalid changes, 409 for the rest).
Roles: routing and reading need `service`; facts (miners, manifests,
allowances, receipts, the chain) need `facts`; blacklisting and the dynamic
configuration need `admin`.
"""

import time
from dataclasses import asdict
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from contracts.bounds import Hotkey
from organism.jobs.dynamic_config import DynamicConfig, DynamicConfigPatch, ExecutorClassName
from organism.jobs.models import (
    AllowancesIn,
    BlacklistIn,
    BlacklistOut,
    ChainIn,
    ChainOut,
    JobEventOut,
    JobMinerOut,
    JobOut,
    JobRouteRequest,
    JobRouteResponse,
    JobsOut,
    ManifestsIn,
    MinerIn,
    MinerOut,
    MinersOut,
    MinerStatusOut,
    ReceiptIn,
    ReleaseIn,
)
from organism.jobs.outcomes import Refusal, RefusalKind
from organism.jobs.picker_client import PickerClient, PickerUnavailable
from organism.jobs.records import Allowance, JobSpec, JobState, Manifest, Miner
from organism.jobs.views import JobView
from organism.state.audit import current_stamp
from servekit.auth import require_admin, require_facts, require_service
from servekit.control_plane import requires_control_plane
from servekit.errors import ApiError, error_response, validation_error
from servekit.openapi import errors

router = APIRouter(tags=["job routing"])
HotkeyPath = Annotated[Hotkey, Path(description="the miner's hotkey")]
JobUuidPath = Annotated[UUID, Path(description="the job's uuid")]
PageLimit = Annotated[int, Query(ge=1, le=1000, description="at most this many per page")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page")]

STATUS: dict[RefusalKind, int] = {
    RefusalKind.JOB_ALREADY_FINISHED: 409,
    RefusalKind.NO_TRUSTED_MINER: 409,
    RefusalKind.CURRENT_BLOCK_UNKNOWN: 503,
    RefusalKind.CURRENT_BLOCK_STALE: 503,
    RefusalKind.NOT_ENOUGH_TIME_IN_CYCLE: 409,
    RefusalKind.NO_MINER_FOR_EXECUTOR_TYPE: 409,
    RefusalKind.NO_MINER_WITH_ENOUGH_ALLOWANCE: 409,
    RefusalKind.NOT_ENOUGH_COLLATERAL: 409,
    RefusalKind.ALL_MINERS_BUSY: 503,
    RefusalKind.ALL_CANDIDATES_DECLINED: 409,
    RefusalKind.UNKNOWN_MINER: 404,
    RefusalKind.UNKNOWN_JOB: 404,
    RefusalKind.RECEIPT_MISMATCH: 409,
    RefusalKind.INVALID: 422,
}
HINT: dict[RefusalKind, str] = {
    RefusalKind.UNKNOWN_MINER: "PUT /organism/miners/{hotkey} first",
    RefusalKind.CURRENT_BLOCK_UNKNOWN: "PUT /organism/chain first",
    RefusalKind.CURRENT_BLOCK_STALE: "the chain feeder must PUT /organism/chain",
}


def refusal_error(refusal: Refusal, dry_run: bool = False) -> ApiError:
    message = f"{refusal.message}; {HINT[refusal.kind]}" if refusal.kind in HINT else refusal.message
    details = refusal.details
    if refusal.explain is not None:
        details = {**(details or {}), "explain": refusal.explain.as_dict(with_ranking=dry_run)}
    headers = {"Retry-After": str(refusal.retry_after_s)} if refusal.retry_after_s is not None else None
    return ApiError(STATUS[refusal.kind], refusal.kind.value, message, details, headers)


async def on_picker_unavailable(request: Request, failure: PickerUnavailable) -> JSONResponse:
    return error_response(503, "PickerUnavailable", str(failure), headers={"Retry-After": "1"})


def _accepted(answer: Any) -> Any:
    if isinstance(answer, Refusal):
        raise refusal_error(answer)
    return answer


def _job_out(view: JobView) -> JobOut:
    miner = JobMinerOut(hotkey=view.hotkey, address=view.address, port=view.port, ip_version=view.ip_version)
    fields = {k: v for k, v in asdict(view).items() if k not in ("hotkey", "address", "port", "ip_version", "history")}
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
    jobs: PickerClient

    @router.post("/jobs/route", dependencies=[require_service, requires_control_plane], responses=errors(409))
    async def route_job(self, request: JobRouteRequest, dry_run: bool = Query(False)) -> JobRouteResponse:
        spec = JobSpec(job_uuid=str(request.uuid), **request.model_dump(exclude={"uuid"}))
        outcome = await self.jobs.route_job(spec, dry_run)
        if isinstance(outcome, Refusal):
            raise refusal_error(outcome, dry_run)
        return JobRouteResponse(**{**asdict(outcome), "explain": outcome.explain.as_dict(with_ranking=dry_run)})

    @router.put("/miners/{hotkey}", dependencies=[require_facts, requires_control_plane])
    async def put_miner(self, miner: MinerIn, hotkey: HotkeyPath) -> MinerOut:
        stored = await self.jobs.call("upsert_miner", Miner(hotkey=hotkey, **miner.model_dump(mode="python")), current_stamp())
        return MinerOut(**asdict(stored))

    @router.get("/jobs/{job_uuid}", dependencies=[require_service], responses=errors(404))
    async def get_job(self, job_uuid: JobUuidPath) -> JobOut:
        return _job_out(_accepted(await self.jobs.call("job", str(job_uuid))))

    @router.get("/jobs", dependencies=[require_service])
    async def list_jobs(
        self, state: JobState | None = None, hotkey: Annotated[Hotkey | None, Query()] = None,
        limit: PageLimit = 100, cursor: Cursor = None,
    ) -> JobsOut:
        """Jobs newest first (by when they were last routed), in `state` and on `hotkey` if given."""
        page, following = await self.jobs.call("jobs", limit, _job_cursor(cursor), state and state.value, hotkey)
        return JobsOut(jobs=[_job_out(v) for v in page], next_cursor=following and f"{following[0]!r}~{following[1]}")

    @router.post("/jobs/{job_uuid}/release", dependencies=[require_service, requires_control_plane], responses=errors(404))
    async def release_job(self, job_uuid: JobUuidPath, release: Annotated[ReleaseIn, Body()]) -> JobOut:
        """Give the job's slot and held allowance back at once; idempotent. `declined`, `failed` and
        `timeout` are incidents of the miner, which a new pick of this uuid passes over."""
        return _job_out(_accepted(await self.jobs.call("release_job", str(job_uuid), release.reason)))

    @router.get("/miners", dependencies=[require_service])
    async def get_miners(
        self, executor_class: Annotated[ExecutorClassName | None, Query()] = None, blacklisted: bool | None = None,
        limit: PageLimit = 500, cursor: Annotated[Hotkey | None, Query(description="`next_cursor` of the previous page")] = None,
    ) -> MinersOut:
        """Miners by hotkey; only those with a manifest of `executor_class`, and (not) blacklisted now, if given."""
        page, following = await self.jobs.call("miners", limit, cursor, executor_class, blacklisted)
        return MinersOut(miners=[MinerStatusOut.of(status) for status in page], next_cursor=following)

    @router.get("/miners/{hotkey}", dependencies=[require_service], responses=errors(404))
    async def get_miner(self, hotkey: HotkeyPath) -> MinerStatusOut:
        return MinerStatusOut.of(_accepted(await self.jobs.call("miner", hotkey)))

    @router.delete("/miners/{hotkey}", status_code=204, dependencies=[require_facts, requires_control_plane],
                    responses=errors(404))
    async def deregister_miner(self, hotkey: HotkeyPath) -> Response:
        """The miner leaves the candidates; its jobs, incidents and blacklist entry stay."""
        _accepted(await self.jobs.call("deregister", hotkey, current_stamp()))
        return Response(status_code=204)

    @router.post("/manifests", dependencies=[require_facts, requires_control_plane], responses=errors(404))
    async def post_manifests(self, batch: ManifestsIn) -> ManifestsIn:
        now = time.time()
        records = [
            Manifest(**{**m.model_dump(), "observed_at": now if m.observed_at is None else m.observed_at}, arrival=0)
            for m in batch.manifests
        ]
        stored = _accepted(await self.jobs.call("add_manifests", records))
        return ManifestsIn(manifests=[{k: v for k, v in asdict(r).items() if k != "arrival"} for r in stored])

    @router.post("/miners/{hotkey}/blacklist", dependencies=[require_admin, requires_control_plane], responses=errors(404))
    async def blacklist_miner(self, entry: BlacklistIn, hotkey: HotkeyPath) -> BlacklistOut:
        answer = await self.jobs.call("blacklist", hotkey, entry.reason, entry.duration_s, current_stamp())
        return BlacklistOut(**asdict(_accepted(answer)))

    @router.delete("/miners/{hotkey}/blacklist", status_code=204, dependencies=[require_admin, requires_control_plane],
                    responses=errors(404))
    async def lift_blacklist(self, hotkey: HotkeyPath) -> Response:
        _accepted(await self.jobs.call("lift_blacklist", hotkey, current_stamp()))
        return Response(status_code=204)

    @router.put("/allowances", dependencies=[require_facts, requires_control_plane], responses=errors(404))
    async def put_allowances(self, batch: AllowancesIn) -> AllowancesIn:
        cycle = batch.cycle
        rows = [Allowance(r.hotkey, cycle.start, cycle.stop, r.initial, r.remaining) for r in batch.allowances]
        stored = _accepted(await self.jobs.call("upsert_allowances", rows, current_stamp()))
        return AllowancesIn(
            cycle=cycle, allowances=[{"hotkey": r.hotkey, "initial": r.initial, "remaining": r.remaining} for r in stored]
        )

    @router.post("/receipts", dependencies=[require_facts, requires_control_plane], responses=errors(404, 409))
    async def post_receipt(self, receipt: ReceiptIn) -> ReceiptIn:
        timestamp = receipt.timestamp if receipt.timestamp is not None else time.time()
        stored = await self.jobs.call(
            "record_receipt", receipt.kind, str(receipt.job_uuid), receipt.hotkey, receipt.executor_class,
            timestamp, receipt.ttl_s,
        )
        return ReceiptIn(**asdict(_accepted(stored)))

    @router.put("/chain", dependencies=[require_facts, requires_control_plane])
    async def put_chain(self, report: ChainIn) -> ChainOut:
        return ChainOut(**asdict(await self.jobs.call("set_block", report.block, current_stamp())))

    @router.get("/chain", dependencies=[require_service], responses=errors(404))
    async def get_chain(self) -> ChainOut:
        chain = await self.jobs.call("chain")
        if chain is None:
            raise ApiError(404, RefusalKind.CURRENT_BLOCK_UNKNOWN.value, f"no block reported yet; {HINT[RefusalKind.CURRENT_BLOCK_UNKNOWN]}")
        return ChainOut(**asdict(chain))

    @router.get("/config", dependencies=[require_service])
    async def get_config(self) -> DynamicConfig:
        return await self.jobs.call("config")

    @router.patch("/config", dependencies=[require_admin, requires_control_plane])
    async def patch_config(self, patch: DynamicConfigPatch) -> DynamicConfig:
        return _accepted(await self.jobs.call("patch_config", patch, current_stamp()))
