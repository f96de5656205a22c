"""HTTP routes of job routing (`/organism`): picks, and the facts picks use.

`JobApi` is one half of the OrganismManager's class-based FastAPI view; its
only state is `jobs`, the replica's `PickerClient`. Routes validate (pydantic),
ask the picker, and show its typed answer. A refusal becomes an HTTP error
through one table, `STATUS` (503 + Retry-After for busy miners, 404 for
unknown hotkeys, 422 for invalid changes, 409 for the rest).
"""

import time
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from contracts.bounds import Hotkey
from organism.jobs.dynamic_config import DynamicConfig, DynamicConfigPatch
from organism.jobs.models import (
    AllowancesIn,
    BlacklistIn,
    BlacklistOut,
    ChainIn,
    ChainOut,
    JobRouteRequest,
    JobRouteResponse,
    ManifestsIn,
    MinerIn,
    MinerOut,
    MinersOut,
    MinerStatusOut,
    ReceiptIn,
)
from organism.jobs.outcomes import Refusal, RefusalKind
from organism.jobs.picker_client import PickerClient, PickerUnavailable
from organism.jobs.records import Allowance, JobSpec, Manifest, Miner
from servekit.auth import require_admin, require_service
from servekit.control_plane import requires_control_plane
from servekit.errors import ApiError, error_response

router = APIRouter()
HotkeyPath = Annotated[Hotkey, Path(description="the miner's hotkey")]

STATUS: dict[RefusalKind, int] = {
    RefusalKind.JOB_ALREADY_FINISHED: 409,
    RefusalKind.NO_TRUSTED_MINER: 409,
    RefusalKind.CURRENT_BLOCK_UNKNOWN: 503,
    RefusalKind.NOT_ENOUGH_TIME_IN_CYCLE: 409,
    RefusalKind.NO_MINER_FOR_EXECUTOR_TYPE: 409,
    RefusalKind.NO_MINER_WITH_ENOUGH_ALLOWANCE: 409,
    RefusalKind.NOT_ENOUGH_COLLATERAL: 409,
    RefusalKind.ALL_MINERS_BUSY: 503,
    RefusalKind.UNKNOWN_MINER: 404,
    RefusalKind.RECEIPT_MISMATCH: 409,
    RefusalKind.INVALID: 422,
}
HINT: dict[RefusalKind, str] = {
    RefusalKind.UNKNOWN_MINER: "PUT /organism/miners/{hotkey} first",
    RefusalKind.CURRENT_BLOCK_UNKNOWN: "PUT /organism/chain first",
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


class JobApi:
    jobs: PickerClient

    @router.post("/jobs/route", dependencies=[require_service, requires_control_plane])
    async def route_job(self, request: JobRouteRequest, dry_run: bool = Query(False)) -> JobRouteResponse:
        spec = JobSpec(job_uuid=str(request.uuid), **request.model_dump(exclude={"uuid"}))
        outcome = await self.jobs.route_job(spec, dry_run)
        if isinstance(outcome, Refusal):
            raise refusal_error(outcome, dry_run)
        return JobRouteResponse(**{**asdict(outcome), "explain": outcome.explain.as_dict(with_ranking=dry_run)})

    @router.put("/miners/{hotkey}", dependencies=[require_service, requires_control_plane])
    async def put_miner(self, miner: MinerIn, hotkey: HotkeyPath) -> MinerOut:
        stored = await self.jobs.call("upsert_miner", Miner(hotkey=hotkey, **miner.model_dump(mode="python")))
        return MinerOut(**asdict(stored))

    @router.get("/miners", dependencies=[require_service])
    async def get_miners(self) -> MinersOut:
        return MinersOut(miners=[MinerStatusOut.of(status) for status in await self.jobs.call("miners")])

    @router.post("/manifests", dependencies=[require_service, requires_control_plane])
    async def post_manifests(self, batch: ManifestsIn) -> ManifestsIn:
        now = time.time()
        records = [
            Manifest(**{**m.model_dump(), "observed_at": now if m.observed_at is None else m.observed_at}, arrival=0)
            for m in batch.manifests
        ]
        stored = _accepted(await self.jobs.call("add_manifests", records))
        return ManifestsIn(manifests=[{k: v for k, v in asdict(r).items() if k != "arrival"} for r in stored])

    @router.post("/miners/{hotkey}/blacklist", dependencies=[require_service, requires_control_plane])
    async def blacklist_miner(self, entry: BlacklistIn, hotkey: HotkeyPath) -> BlacklistOut:
        return BlacklistOut(**asdict(_accepted(await self.jobs.call("blacklist", hotkey, entry.reason, entry.duration_s))))

    @router.delete("/miners/{hotkey}/blacklist", status_code=204, dependencies=[require_service, requires_control_plane])
    async def lift_blacklist(self, hotkey: HotkeyPath) -> Response:
        _accepted(await self.jobs.call("lift_blacklist", hotkey))
        return Response(status_code=204)

    @router.put("/allowances", dependencies=[require_service, requires_control_plane])
    async def put_allowances(self, batch: AllowancesIn) -> AllowancesIn:
        cycle = batch.cycle
        rows = [Allowance(r.hotkey, cycle.start, cycle.stop, r.initial, r.remaining) for r in batch.allowances]
        stored = _accepted(await self.jobs.call("upsert_allowances", rows))
        return AllowancesIn(
            cycle=cycle, allowances=[{"hotkey": r.hotkey, "initial": r.initial, "remaining": r.remaining} for r in stored]
        )

    @router.post("/receipts", dependencies=[require_service, requires_control_plane])
    async def post_receipt(self, receipt: ReceiptIn) -> ReceiptIn:
        timestamp = receipt.timestamp if receipt.timestamp is not None else time.time()
        stored = await self.jobs.call(
            "record_receipt", receipt.kind, str(receipt.job_uuid), receipt.hotkey, receipt.executor_class,
            timestamp, receipt.ttl_s,
        )
        return ReceiptIn(**asdict(_accepted(stored)))

    @router.put("/chain", dependencies=[require_service, requires_control_plane])
    async def put_chain(self, report: ChainIn) -> ChainOut:
        return ChainOut(**asdict(await self.jobs.call("set_block", report.block)))

    @router.get("/chain", dependencies=[require_service])
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
        return _accepted(await self.jobs.call("patch_config", patch))
