"""What a change of facts or configuration does, decided over a MinerBook. Pure.

Each one checks what it must (a registered miner, a configured executor
class, a valid config), changes the book, and answers a `Change`: the
documents to write and, for every change but manifests (too frequent to be
worth it), the audit entry that says who did it, with what was there before.
The picker actor writes it in one transaction.
"""

import dataclasses
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from pydantic import BaseModel, ValidationError

from contracts.audit import AuditAction, AuditStamp
from contracts.chain import ChainReport, chain_view
from contracts.dynamic_config import apply_patch
from contracts.jobs import Allowance, BlacklistEntry, Manifest, Miner
from contracts.refusals import FieldProblem, Refusal, RefusalKind, invalid
from organism.jobs.book import MinerBook
from organism.jobs.prefilters import unknown_class
from organism.jobs.records import Change, Writes
from organism.state.audit import entry as audited


def unknown_miners(hotkeys: Iterable[str]) -> Refusal:
    missing = sorted(set(hotkeys))
    return Refusal(RefusalKind.UNKNOWN_MINER, f"not registered: {', '.join(missing)}", {"hotkeys": missing})


def _missing(book: MinerBook, hotkeys: Iterable[str]) -> Refusal | None:
    missing = [h for h in hotkeys if h not in book.miners]
    return unknown_miners(missing) if missing else None


def _doc(value: Any) -> Any:
    return None if value is None else asdict(value)


def _trail(stamp: AuditStamp, action: AuditAction, target: str | None, now: float, before: Any = None, after: Any = None) -> Writes:
    """The audit entry of a change, written with it."""
    return Writes([audited(stamp, action, target, now, before, after)])


def register(book: MinerBook, miner: Miner, stamp: AuditStamp, now: float) -> Change:
    before = _doc(book.miners.get(miner.hotkey))
    writes = book.upsert_miner(miner)
    return Change(miner, writes + _trail(stamp, AuditAction.MINER_REGISTER, miner.hotkey, now, before, asdict(miner)))


def deregister(book: MinerBook, hotkey: str, stamp: AuditStamp, now: float) -> Change | Refusal:
    if refused := _missing(book, [hotkey]):
        return refused
    before = asdict(book.miners[hotkey])
    return Change(None, book.deregister(hotkey) + _trail(stamp, AuditAction.MINER_DEREGISTER, hotkey, now, before))


def manifests(book: MinerBook, rows: list[Manifest], now: float) -> Change | Refusal:
    if refused := _missing(book, (m.hotkey for m in rows)):
        return refused
    for position, manifest in enumerate(rows):
        if refused := unknown_class(book.config, manifest.executor_class, f"manifests.{position}.executor_class"):
            return refused
    # a manifest from the future would never go stale and would shadow every newer one
    records = [dataclasses.replace(m, observed_at=min(m.observed_at, now)) for m in rows]
    return Change(records, book.add_manifests(records))


def blacklist(book: MinerBook, hotkey: str, reason: str, duration_s: float | None, stamp: AuditStamp,
              now: float) -> Change | Refusal:
    if refused := _missing(book, [hotkey]):
        return refused
    entry = BlacklistEntry(hotkey, reason, now, None if duration_s is None else now + duration_s)
    before = _doc(book.blacklist.get(hotkey))
    return Change(entry, book.set_blacklist(entry) + _trail(stamp, AuditAction.MINER_BLACKLIST, hotkey, now, before, asdict(entry)))


def lift_blacklist(book: MinerBook, hotkey: str, stamp: AuditStamp, now: float) -> Change | Refusal:
    if refused := _missing(book, [hotkey]):
        return refused
    before = _doc(book.blacklist.get(hotkey))
    return Change(None, book.lift_blacklist(hotkey) + _trail(stamp, AuditAction.MINER_BLACKLIST_LIFT, hotkey, now, before))


def allowances(book: MinerBook, rows: list[Allowance], stamp: AuditStamp, now: float) -> Change | Refusal:
    if refused := _missing(book, (r.hotkey for r in rows)):
        return refused
    before = [_doc(book.allowances.get((r.cycle_start, r.cycle_stop), {}).get(r.hotkey)) for r in rows]
    after = [asdict(r) for r in rows]
    return Change(rows, book.upsert_allowances(rows) + _trail(stamp, AuditAction.ALLOWANCES_UPDATE, None, now, before, after))


def chain(book: MinerBook, block: int, netuid: int, stamp: AuditStamp, now: float) -> Change:
    before = book.chain.block if book.chain else None
    writes = book.set_chain(ChainReport(block, now))
    return Change(chain_view(book.chain, netuid, now), writes + _trail(stamp, AuditAction.CHAIN_REPORT, None, now, before, block))


def patch_config(book: MinerBook, patch: BaseModel, stamp: AuditStamp, now: float) -> Change | Refusal:
    try:
        config = apply_patch(patch, book.config)
    except ValidationError as error:
        return invalid([FieldProblem(".".join(map(str, e["loc"])), e["msg"]) for e in error.errors()])
    if config.DEBUG_MINER_KEY and config.DEBUG_MINER_KEY not in book.miners:
        return invalid([FieldProblem("DEBUG_MINER_KEY", f"{config.DEBUG_MINER_KEY!r} is not a registered miner")])
    changed = sorted(patch.model_dump(exclude_unset=True))
    before = {key: getattr(book.config, key) for key in changed}
    after = {k: getattr(config, k) for k in changed}
    return Change(config, book.set_config(config) + _trail(stamp, AuditAction.CONFIG_PATCH, None, now, before, after))
