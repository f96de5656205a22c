"""MinerPicker: the detached named actor through which every pick goes.

A plain (non-async) actor with `max_concurrency=1`: Ray runs its calls one at
a time, so picks and reservations from every OrganismManager replica (and any
other caller) are serialized cluster-wide, and no two callers can book the
same executor slot. Each call changes the `MinerBook`, writes the changed
documents to SQLite (WAL) and only then answers; if the write fails the book
is reloaded from the store, so memory never runs ahead of disk. A restarted
actor (`max_restarts=-1`) loads the same book: nothing it acknowledged is lost.

Answers are plain dicts; a refusal is `{"error": {"status", "type", "message",
"details"}}`, turned into an HTTP error by the ingress.
"""

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterable

import ray
from pydantic import ValidationError

from organism.detached import get_or_create_detached
from organism.jobs.book import (
    Allowance,
    BlacklistEntry,
    Manifest,
    Miner,
    MinerBook,
    Receipt,
    Reservation,
    RoutedJob,
)
from organism.jobs.chain import ChainReport, cycle_containing
from organism.jobs.dynamic_config import DynamicConfigPatch
from organism.jobs.policy import JobSpec, Refusal, pick, required_seconds
from organism.store import Delete, Put, SqliteStore

UNROUTED_RECEIPT_TTL_S = 600.0
PRUNE_EVERY_S = 30.0
BUSY_STATUS = {"AllMinersBusy": 503, "CurrentBlockUnknown": 503}


def error(status: int, error_type: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"status": status, "type": error_type, "message": message, "details": details}}


def unknown_miners(hotkeys: Iterable[str]) -> dict[str, Any]:
    missing = sorted(set(hotkeys))
    return error(404, "UnknownMiner", f"not registered: {', '.join(missing)}; PUT /organism/miners/{{hotkey}} first", {"hotkeys": missing})


class MinerPicker:
    def __init__(self, state_db: str, netuid: int) -> None:
        self._store = SqliteStore(Path(state_db))
        self._book = MinerBook.load(self._store)
        self._netuid = netuid
        self._pruned_at = 0.0

    def _commit(self, puts: Iterable[Put] = (), deletes: Iterable[Delete] = ()) -> None:
        try:
            self._store.write(puts, deletes)
        except Exception:
            self._book = MinerBook.load(self._store)  # memory must not run ahead of disk
            raise

    def _current_block(self, now: float) -> int | None:
        return self._book.chain.current_block(now) if self._book.chain else None

    def _missing(self, hotkeys: Iterable[str]) -> list[str]:
        return [h for h in hotkeys if h not in self._book.miners]

    # --- picking --------------------------------------------------------------------
    def route_job(self, job: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        now = time.time()
        if now - self._pruned_at >= PRUNE_EVERY_S:  # keeps a pick proportional to live bookings
            self._commit(deletes=self._book.prune(now))
            self._pruned_at = now
        spec = JobSpec(**job)
        outcome = pick(self._book, spec, self._current_block(now), self._netuid, now)
        if isinstance(outcome, Refusal):
            refusal = error(BUSY_STATUS.get(outcome.error_type, 409), outcome.error_type, outcome.message, outcome.details)
            refusal["error"]["explain"] = outcome.explain.as_dict(with_ranking=dry_run)
            if outcome.error_type == "AllMinersBusy":  # a slot frees when a reservation lapses
                reservation_s = self._book.config.DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS
                refusal["error"]["retry_after_s"] = max(1, reservation_s)
            return refusal
        address = self._address_of(outcome.hotkey)
        if address is None:
            return error(409, "NoTrustedMiner", f"{outcome.hotkey} is neither registered nor the configured trusted miner with an address")
        expires_at = None
        if outcome.reserve and not dry_run:
            config = self._book.config
            expires_at = now + config.DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS
            reservation = Reservation(spec.job_uuid, outcome.hotkey, spec.executor_class, now, expires_at)
            routed = RoutedJob(
                spec.job_uuid,
                outcome.hotkey,
                spec.executor_class,
                spec.executor_seconds,
                required_seconds(spec, self._book),
                outcome.reason,
                routed_at=now,
            )
            self._commit(self._book.reserve(reservation, routed))
        elif outcome.replayed and (held := self._book.reservations.get(spec.job_uuid)) and held.active(now):
            expires_at = held.expires_at
        return {
            "job_uuid": spec.job_uuid,
            "miner": address,
            "reason": outcome.reason,
            "reservation_expires_at": expires_at,
            "replayed": outcome.replayed,
            "dry_run": dry_run,
            "explain": outcome.explain.as_dict(with_ranking=dry_run),
        }

    def _address_of(self, hotkey: str) -> dict[str, Any] | None:
        miner = self._book.miners.get(hotkey)
        if miner is not None:
            return {"hotkey": hotkey, "address": miner.address, "port": miner.port, "ip_version": miner.ip_version}
        config = self._book.config
        if hotkey == config.TRUSTED_MINER_HOTKEY and config.TRUSTED_MINER_ADDRESS and config.TRUSTED_MINER_PORT:
            return {"hotkey": hotkey, "address": config.TRUSTED_MINER_ADDRESS, "port": config.TRUSTED_MINER_PORT, "ip_version": 4}
        return None

    # --- facts ------------------------------------------------------------------------
    def upsert_miner(self, hotkey: str, miner: dict[str, Any]) -> dict[str, Any]:
        record = Miner(hotkey=hotkey, **miner)
        self._commit(self._book.upsert_miner(record))
        return asdict(record)

    def add_manifests(self, manifests: list[dict[str, Any]]) -> dict[str, Any]:
        if missing := self._missing(m["hotkey"] for m in manifests):
            return unknown_miners(missing)
        now = time.time()
        # a manifest from the future would never go stale and would shadow every newer one
        records = [Manifest(**{**m, "observed_at": min(m["observed_at"] or now, now)}, arrival=0) for m in manifests]
        self._commit(self._book.add_manifests(records))
        return {"manifests": [{k: v for k, v in asdict(r).items() if k != "arrival"} for r in records]}

    def blacklist(self, hotkey: str, reason: str, duration_s: float | None) -> dict[str, Any]:
        if self._missing([hotkey]):
            return unknown_miners([hotkey])
        now = time.time()
        entry = BlacklistEntry(hotkey, reason, now, None if duration_s is None else now + duration_s)
        self._commit(self._book.set_blacklist(entry))
        return asdict(entry)

    def lift_blacklist(self, hotkey: str) -> dict[str, Any] | None:
        if self._missing([hotkey]):
            return unknown_miners([hotkey])
        self._commit(deletes=self._book.lift_blacklist(hotkey))
        return None

    def upsert_allowances(self, cycle: dict[str, int], rows: list[dict[str, Any]]) -> dict[str, Any]:
        if missing := self._missing(r["hotkey"] for r in rows):
            return unknown_miners(missing)
        records = [Allowance(r["hotkey"], cycle["start"], cycle["stop"], r["initial"], r["remaining"]) for r in rows]
        self._commit(self._book.upsert_allowances(records))
        return {"cycle": cycle, "allowances": [{"hotkey": r.hotkey, "initial": r.initial, "remaining": r.remaining} for r in records]}

    def record_receipt(self, receipt: dict[str, Any]) -> dict[str, Any]:
        if self._missing([receipt["hotkey"]]):
            return unknown_miners([receipt["hotkey"]])
        now = time.time()
        routed = self._book.jobs.get(receipt["job_uuid"])
        if routed is not None and (routed.hotkey, routed.executor_class) != (receipt["hotkey"], receipt["executor_class"]):
            return error(
                409, "ReceiptMismatch",
                f"job {routed.job_uuid} was routed to {routed.hotkey} for {routed.executor_class}",
                {"hotkey": routed.hotkey, "executor_class": routed.executor_class},
            )
        default_ttl = routed.required_seconds if routed else UNROUTED_RECEIPT_TTL_S
        record = Receipt(
            kind=receipt["kind"],
            job_uuid=receipt["job_uuid"],
            hotkey=receipt["hotkey"],
            executor_class=receipt["executor_class"],
            timestamp=min(receipt["timestamp"] or now, now),  # a receipt from the future would hold a slot forever
            ttl_s=receipt["ttl_s"] or default_ttl,
        )
        puts, deletes = self._book.record_receipt(record, self._current_block(now))
        self._commit(puts, deletes)
        return asdict(record)

    def set_block(self, block: int) -> dict[str, Any]:
        self._commit(self._book.set_chain(ChainReport(block, time.time())))
        return self.chain()

    def chain(self) -> dict[str, Any] | None:
        report = self._book.chain
        if report is None:
            return None
        current = report.current_block(time.time())
        cycle = cycle_containing(current, self._netuid)
        return {
            "reported_block": report.block,
            "reported_at": report.reported_at,
            "current_block": current,
            "netuid": self._netuid,
            "cycle": {"start": cycle.start, "stop": cycle.stop},
        }

    def config(self) -> dict[str, Any]:
        return self._book.config.model_dump()

    def patch_config(self, changes: dict[str, Any]) -> dict[str, Any]:
        try:
            config = DynamicConfigPatch.model_validate(changes).apply_to(self._book.config)
        except ValidationError as invalid:
            problems = [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in invalid.errors()]
            return error(422, "ValidationError", "; ".join(f"{p['field']}: {p['problem']}" for p in problems), problems)
        if config.DEBUG_MINER_KEY and self._missing([config.DEBUG_MINER_KEY]):
            problem = {"field": "DEBUG_MINER_KEY", "problem": f"{config.DEBUG_MINER_KEY!r} is not a registered miner"}
            return error(422, "ValidationError", f"DEBUG_MINER_KEY: {problem['problem']}", [problem])
        self._commit(self._book.set_config(config))
        return config.model_dump()

    # --- views ------------------------------------------------------------------------
    def miners(self) -> list[dict[str, Any]]:
        now = time.time()
        block = self._current_block(now)
        rows = self._book.allowance_rows(block) if block is not None else {}
        latest: dict[str, dict[str, Manifest]] = {}
        for executor_class, by_hotkey in self._book.manifests.items():
            for hotkey, manifest in by_hotkey.items():
                latest.setdefault(hotkey, {})[executor_class] = manifest
        statuses = []
        for hotkey, miner in sorted(self._book.miners.items()):
            entry = self._book.blacklist.get(hotkey)
            manifests = latest.get(hotkey, {})
            ongoing = {c: self._book.ongoing_jobs(hotkey, c, now) for c in manifests}
            row = rows.get(hotkey)
            statuses.append(
                {
                    **asdict(miner),
                    "blacklist": asdict(entry) if entry and entry.active(now) else None,
                    "manifests": {
                        c: {"online_executor_count": m.online_executor_count, "executor_count": m.executor_count, "observed_at": m.observed_at}
                        for c, m in manifests.items()
                    },
                    "allowance": None if row is None else {"cycle": {"start": row.cycle_start, "stop": row.cycle_stop}, "initial": row.initial, "remaining": row.remaining},
                    "ongoing_jobs": ongoing,
                    "free_slots": {c: max(0, m.online_executor_count - ongoing[c]) for c, m in manifests.items()},
                }
            )
        return statuses


def get_or_create_picker(
    name: str, namespace: str, state_db: Path, netuid: int, resources: dict[str, float]
) -> ray.actor.ActorHandle:
    # One call at a time is the point; retries are safe because every call is idempotent
    # (a routed uuid replays its booking).
    return get_or_create_detached(
        MinerPicker, name, namespace, str(state_db), netuid, resources=resources, max_concurrency=1, max_task_retries=3
    )
