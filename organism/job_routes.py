"""Job routing routes of the OrganismManager: picks, and the facts picks use.

Every route forwards to the MinerPicker actor, which serializes and persists;
this mixin only validates (pydantic), translates refusals into HTTP errors
(409 with the refusal's type, 503 + Retry-After for busy miners, 404 for
unknown hotkeys) and answers the stored object.
"""

import asyncio
import time
from typing import Any

from fastapi import Path, Query, Response
from ray.exceptions import RayError, RayTaskError

from organism.ingress import app
from organism.jobs.dynamic_config import DynamicConfig, DynamicConfigPatch
from organism.jobs.models import (
    AllowancesIn,
    BlacklistIn,
    BlacklistOut,
    ChainIn,
    ChainOut,
    Hotkey,
    JobRouteRequest,
    JobRouteResponse,
    ManifestsIn,
    MinerIn,
    MinerOut,
    MinersOut,
    ReceiptIn,
)
from service_common.http import ApiError, require_admin, require_service

HotkeyPath = Path(min_length=1, max_length=128)


class JobRoutes:
    async def _ask_picker(self, method: str, *args: Any) -> Any:
        try:
            answer = await asyncio.wait_for(
                getattr(self._picker, method).remote(*args), self._settings.picker_call_timeout_s
            )
        except RayTaskError:
            raise  # a bug in the picker, not an outage: logged and answered 500 without a trace
        except (asyncio.TimeoutError, RayError) as failure:
            raise ApiError(
                503, "PickerUnavailable", f"miner picker did not answer {method}: {type(failure).__name__}",
                headers={"Retry-After": "1"},
            ) from failure
        if isinstance(answer, dict) and "error" in answer:
            refusal = answer["error"]
            headers = {"Retry-After": str(refusal["retry_after_s"])} if "retry_after_s" in refusal else None
            details = refusal["details"]
            if "explain" in refusal:
                details = {**(details or {}), "explain": refusal["explain"]}
            raise ApiError(refusal["status"], refusal["type"], refusal["message"], details, headers)
        return answer

    @app.post("/jobs/route", dependencies=[require_service])
    async def route_job(self, request: JobRouteRequest, dry_run: bool = Query(False)) -> JobRouteResponse:
        job = {"job_uuid": str(request.uuid), **request.model_dump(exclude={"uuid"})}
        started = time.perf_counter()
        try:
            answer = JobRouteResponse(**await self._ask_picker("route_job", job, dry_run))
        except ApiError as refusal:
            self._metrics.picks.inc(tags={"outcome": refusal.error_type})
            raise
        finally:
            self._metrics.pick_latency.observe((time.perf_counter() - started) * 1000)
        self._metrics.picks.inc(tags={"outcome": "replayed" if answer.replayed else answer.reason})
        return answer

    @app.put("/miners/{hotkey}", dependencies=[require_service])
    async def put_miner(self, miner: MinerIn, hotkey: Hotkey = HotkeyPath) -> MinerOut:
        return MinerOut(**await self._ask_picker("upsert_miner", hotkey, miner.model_dump(mode="python")))

    @app.get("/miners", dependencies=[require_service])
    async def get_miners(self) -> MinersOut:
        return MinersOut(miners=await self._ask_picker("miners"))

    @app.post("/manifests", dependencies=[require_service])
    async def post_manifests(self, batch: ManifestsIn) -> ManifestsIn:
        return ManifestsIn(**await self._ask_picker("add_manifests", [m.model_dump() for m in batch.manifests]))

    @app.post("/miners/{hotkey}/blacklist", dependencies=[require_service])
    async def blacklist_miner(self, entry: BlacklistIn, hotkey: Hotkey = HotkeyPath) -> BlacklistOut:
        return BlacklistOut(**await self._ask_picker("blacklist", hotkey, entry.reason, entry.duration_s))

    @app.delete("/miners/{hotkey}/blacklist", status_code=204, dependencies=[require_service])
    async def lift_blacklist(self, hotkey: Hotkey = HotkeyPath) -> Response:
        await self._ask_picker("lift_blacklist", hotkey)
        return Response(status_code=204)

    @app.put("/allowances", dependencies=[require_service])
    async def put_allowances(self, batch: AllowancesIn) -> AllowancesIn:
        rows = [row.model_dump() for row in batch.allowances]
        return AllowancesIn(**await self._ask_picker("upsert_allowances", batch.cycle.model_dump(), rows))

    @app.post("/receipts", dependencies=[require_service])
    async def post_receipt(self, receipt: ReceiptIn) -> ReceiptIn:
        stored = await self._ask_picker("record_receipt", {**receipt.model_dump(), "job_uuid": str(receipt.job_uuid)})
        return ReceiptIn(**stored)

    @app.put("/chain", dependencies=[require_service])
    async def put_chain(self, report: ChainIn) -> ChainOut:
        return ChainOut(**await self._ask_picker("set_block", report.block))

    @app.get("/chain", dependencies=[require_service])
    async def get_chain(self) -> ChainOut:
        chain = await self._ask_picker("chain")
        if chain is None:
            raise ApiError(404, "CurrentBlockUnknown", "no block reported yet: PUT /organism/chain first")
        return ChainOut(**chain)

    @app.get("/config", dependencies=[require_service])
    async def get_config(self) -> DynamicConfig:
        return DynamicConfig(**await self._ask_picker("config"))

    @app.patch("/config", dependencies=[require_admin])
    async def patch_config(self, patch: DynamicConfigPatch) -> DynamicConfig:
        return DynamicConfig(**await self._ask_picker("patch_config", patch.model_dump(exclude_unset=True)))
