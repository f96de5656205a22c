"""How a pick's decision becomes the caller's answer: the chosen miner and its address, or a refusal. Pure.

Shared by the picks the picker books (`picker_actor`) and the dry runs read
beside its queue (`reading`): both ask `policy.pick`, then look up where the
chosen miner answers (a registered miner, or the configured trusted miner),
and tell a caller refused for busy miners when to try again.
"""

import dataclasses
from random import Random

from contracts.jobs import JobSpec, MinerAddress
from contracts.refusals import Refusal, RefusalKind
from organism.jobs.book import MinerBook
from organism.jobs.candidate_index import CandidateIndex
from organism.jobs.policy import pick
from organism.jobs.records import Selection


def current_block(book: MinerBook, now: float) -> int | None:
    return book.chain.current_block(now) if book.chain else None


def chosen(book: MinerBook, spec: JobSpec, netuid: int, now: float,
           index: CandidateIndex | None, rng: Random | None = None) -> tuple[Selection, MinerAddress] | Refusal:
    """The miner a pick selects and its address (`index` None: the reference path, every filter over
    every miner, each one's reason), or why none; `rng` draws the spread ordering's order."""
    outcome = pick(book, spec, current_block(book, now), netuid, now, index, rng)
    if isinstance(outcome, Refusal):
        return with_retry_after(book, outcome)
    address = address_of(book, outcome.hotkey)
    if address is None:
        message = f"{outcome.hotkey} is neither registered nor the configured trusted miner with an address"
        return Refusal(RefusalKind.NO_TRUSTED_MINER, message)
    return outcome, address


def address_of(book: MinerBook, hotkey: str) -> MinerAddress | None:
    miner = book.miners.get(hotkey)
    if miner is not None:
        return miner.contact()
    config = book.config
    if hotkey == config.TRUSTED_MINER_HOTKEY and config.TRUSTED_MINER_ADDRESS and config.TRUSTED_MINER_PORT:
        return MinerAddress(hotkey, config.TRUSTED_MINER_ADDRESS, config.TRUSTED_MINER_PORT, 4)
    return None


def with_retry_after(book: MinerBook, refusal: Refusal) -> Refusal:
    if refusal.kind is RefusalKind.ALL_MINERS_BUSY:  # a slot frees when a reservation lapses
        reservation_s = book.config.DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS
        return dataclasses.replace(refusal, retry_after_s=max(1, reservation_s))
    return refusal


def replayed_expiry(book: MinerBook, spec: JobSpec, outcome: Selection, now: float) -> float | None:
    """When the reservation a replayed pick answers with expires (None if it does not hold one)."""
    held = book.reservations.get(spec.job_uuid)
    return held.expires_at if outcome.replayed and held and held.active(now) else None
