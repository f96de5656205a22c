"""The live picker's inputs as trace events: what `MinerPicker` records of each change it commits. Pure.

One function per change the picker is asked for, each answering the trace
`Event` (`trace.py`) that tells a replay the same thing at the same moment
(`now`, the picker's clock). They encode what the picker decided on, not
what it was sent: manifests with their `observed_at` clamped, a receipt
with its `timestamp` clamped, a pick with the answer it gave (`live`), a
config patch as the fields it set. A change the picker refused changed
nothing and is not recorded; a refused pick is (its refusal is an answer).

`seed` is the first event of a picker's recording after each start: the
spread ordering's random source is seeded with it, so a replay that reseeds
there draws as the live picker did.
"""

from dataclasses import asdict
from typing import Any

from pydantic import BaseModel

from contracts.audit import AuditStamp
from contracts.jobs import Allowance, JobRouted, JobSpec, Manifest, Miner
from contracts.refusals import Refusal
from organism.jobs.simulation.trace import JOB_FIELDS, Event


def seed(value: int, now: float) -> Event:
    return Event("seed", now, {"seed": value})


def miner(registered: Miner, now: float) -> Event:
    return Event("miner", now, {**asdict(registered), "collateral_wei": str(registered.collateral_wei)})


def deregister(hotkey: str, now: float) -> Event:
    return Event("deregister", now, {"hotkey": hotkey})


def manifests(rows: list[Manifest], now: float) -> Event:
    kept = [{**{k: v for k, v in asdict(m).items() if k != "arrival"}, "observed_at": min(m.observed_at, now)} for m in rows]
    return Event("manifests", now, {"manifests": kept})  # clamped, as the picker keeps them


def allowances(rows: list[Allowance], now: float) -> Event:
    return Event("allowances", now, {"allowances": [asdict(row) for row in rows]})


def block(number: int, now: float) -> Event:
    return Event("block", now, {"block": number})


def blacklist(hotkey: str, reason: str, duration_s: float | None, now: float) -> Event:
    return Event("blacklist", now, {"hotkey": hotkey, "reason": reason, "duration_s": duration_s})


def lift(hotkey: str, now: float) -> Event:
    return Event("lift", now, {"hotkey": hotkey})


def config(patch: BaseModel, now: float) -> Event:
    return Event("config", now, {"patch": patch.model_dump(mode="json", exclude_unset=True)})


def route(spec: JobSpec, answer: JobRouted | Refusal, now: float) -> Event:
    job: dict[str, Any] = {name: getattr(spec, name) for name in JOB_FIELDS}
    job["caller"] = spec.caller
    if spec.caller_is_admin:
        job["caller_is_admin"] = True
    live = {"refused": answer.kind.value} if isinstance(answer, Refusal) else {"hotkey": answer.miner.hotkey}
    return Event("route", now, {"job": job, "live": live})


def receipt(kind: str, job_uuid: str, hotkey: str, executor_class: str, timestamp: float, ttl_s: float | None,
            reporter: AuditStamp, now: float) -> Event:
    fields: dict[str, Any] = {"receipt_kind": kind, "job_uuid": job_uuid, "hotkey": hotkey,
                              "executor_class": executor_class, "reporter": reporter.subject,
                              "timestamp": min(timestamp, now)}  # clamped, as the picker keeps it
    if ttl_s is not None:
        fields["ttl_s"] = ttl_s
    return Event("receipt", now, fields)


def release(job_uuid: str, reason: str, caller: AuditStamp, now: float) -> Event:
    fields: dict[str, Any] = {"job_uuid": job_uuid, "reason": reason, "caller": caller.subject}
    if caller.role == "admin":
        fields["caller_is_admin"] = True
    return Event("release", now, fields)
