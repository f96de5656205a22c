"""Miner selection for a job: the seed's steps over a book snapshot. Pure.

In order: a job whose booking still holds a slot is replayed, a finished one
refused; the debug
miner, then the trusted miner, bypass every check; the time left in the
cycle (only when cross-cycle jobs are not allowed; equal passes); candidates
by named filters (`not_blacklisted`, `fresh_manifest` of at most 4 h for the
class, `online_executors` > 0 on that newest manifest, `allowance` row of the
current cycle with remaining > executor seconds when checked); ordering by
remaining/initial allowance, then higher collateral; then the first candidate
that passes `collateral` (>= minimum, when the minimum is above zero) and
has a `free_slot` (online executors > ongoing jobs) is selected.

Refusals are values (`Refusal`), each with the counts of `explain`, so the
caller learns exactly why: a blacklist, a stale manifest, allowance,
collateral and busy slots are told apart.
"""

from dataclasses import dataclass, field
from typing import Any

from organism.jobs.book import Allowance, Manifest, MinerBook
from organism.jobs.chain import cycle_containing
from organism.jobs.dynamic_config import EXECUTOR_CLASS_SPIN_UP_S

MANIFEST_MAX_AGE_S = 4 * 3600

# Filter names: explain counts and refusal details use them.
BLACKLISTED = "blacklisted"
STALE_OR_MISSING_MANIFEST = "stale_or_missing_manifest"
NO_ONLINE_EXECUTORS = "no_online_executors"
ALLOWANCE = "allowance"
COLLATERAL = "collateral"
BUSY = "busy"
REJECTION_REASONS = (STALE_OR_MISSING_MANIFEST, NO_ONLINE_EXECUTORS, BLACKLISTED, ALLOWANCE, COLLATERAL, BUSY)


@dataclass(frozen=True, slots=True)
class JobSpec:
    job_uuid: str
    executor_class: str
    download_time_limit: int
    execution_time_limit: int
    upload_time_limit: int
    streaming_start_time_limit: int
    on_trusted_miner: bool

    @property
    def executor_seconds(self) -> int:
        return self.download_time_limit + self.execution_time_limit + self.upload_time_limit


@dataclass
class Explain:
    miners: int = 0
    candidates: int = 0
    rejected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REJECTION_REASONS, 0))
    remaining_s: int | None = None
    required_s: int | None = None
    ranking: list[str] = field(default_factory=list)

    def as_dict(self, with_ranking: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "miners": self.miners,
            "candidates": self.candidates,
            "rejected": dict(self.rejected),
            "cycle_seconds_left": self.remaining_s,
            "required_seconds": self.required_s,
        }
        if with_ranking:
            body["ranking"] = self.ranking
        return body


@dataclass(frozen=True, slots=True)
class Selection:
    hotkey: str
    reason: str  # selected | debug_miner | trusted_miner
    reserve: bool
    explain: Explain
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Refusal:
    error_type: str
    message: str
    details: dict[str, Any]
    explain: Explain


def required_seconds(job: JobSpec, book: MinerBook) -> int:
    config = book.config
    return (
        config.DYNAMIC_ORGANIC_JOB_ALLOWED_LEEWAY_TIME
        + config.DYNAMIC_EXECUTOR_RESERVATION_TIME_LIMIT
        + config.DYNAMIC_EXECUTOR_STARTUP_TIME_LIMIT
        + EXECUTOR_CLASS_SPIN_UP_S[job.executor_class]
        + job.executor_seconds
    )


def pick(book: MinerBook, job: JobSpec, block: int | None, netuid: int, now: float) -> Selection | Refusal:
    explain = Explain(miners=len(book.miners))
    config = book.config
    if (booked := book.active_booking(job.job_uuid, now)) is not None:
        return Selection(booked.hotkey, booked.reason, False, explain, replayed=True)
    if job.job_uuid in book.finished:  # routing it again would book a slot nothing ever frees
        return Refusal("JobAlreadyFinished", "this job uuid already has a finished receipt", {}, explain)
    if config.DEBUG_MINER_KEY:
        return Selection(config.DEBUG_MINER_KEY, "debug_miner", False, explain)
    if job.on_trusted_miner:
        if not config.TRUSTED_MINER_HOTKEY:
            return Refusal("NoTrustedMiner", "the job asks for the trusted miner and none is configured", {}, explain)
        return Selection(config.TRUSTED_MINER_HOTKEY, "trusted_miner", False, explain)
    if block is None:
        return Refusal("CurrentBlockUnknown", "no block reported yet: PUT /organism/chain first", {}, explain)

    cycle = cycle_containing(block, netuid)
    explain.remaining_s = cycle.seconds_left(block)
    explain.required_s = required_seconds(job, book)
    if not config.DYNAMIC_ALLOW_CROSS_CYCLE_ORGANIC_JOBS and explain.remaining_s < explain.required_s:
        return Refusal(
            "NotEnoughTimeInCycle",
            f"{explain.remaining_s} s left in the cycle, the job needs {explain.required_s} s",
            {"remaining_seconds": explain.remaining_s, "required_seconds": explain.required_s},
            explain,
        )

    manifests = book.manifests.get(job.executor_class, {})
    explain.rejected[STALE_OR_MISSING_MANIFEST] = len(book.miners) - len(manifests)
    fresh: list[Manifest] = []
    for hotkey, manifest in manifests.items():
        entry = book.blacklist.get(hotkey)
        if entry is not None and entry.active(now):
            explain.rejected[BLACKLISTED] += 1
        elif now - manifest.observed_at > MANIFEST_MAX_AGE_S:
            explain.rejected[STALE_OR_MISSING_MANIFEST] += 1
        elif manifest.online_executor_count <= 0:
            explain.rejected[NO_ONLINE_EXECUTORS] += 1
        else:
            fresh.append(manifest)
    if not fresh:
        return Refusal(
            "NoMinerForExecutorType",
            f"no miner that is not blacklisted has a fresh manifest with online executors of {job.executor_class}",
            {"executor_class": job.executor_class, "rejected": dict(explain.rejected)},
            explain,
        )

    rows = book.allowance_rows(block)
    candidates: list[tuple[Manifest, Allowance]] = []
    for manifest in fresh:
        row = rows.get(manifest.hotkey)
        enough = row is not None and (
            not config.DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING or row.remaining > job.executor_seconds
        )
        if enough:
            candidates.append((manifest, row))
        else:
            explain.rejected[ALLOWANCE] += 1
    if not candidates:
        return Refusal(
            "NoMinerWithEnoughAllowance",
            f"no candidate has more than {job.executor_seconds} s of allowance left in cycle [{cycle.start}, {cycle.stop})",
            {"executor_seconds": job.executor_seconds, "cycle": {"start": cycle.start, "stop": cycle.stop}},
            explain,
        )

    explain.candidates = len(candidates)
    candidates.sort(key=lambda c: (-c[1].ratio, -book.miners[c[0].hotkey].collateral_wei, c[0].hotkey))
    explain.ranking = [manifest.hotkey for manifest, _ in candidates]
    minimum = config.DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI
    for manifest, _ in candidates:
        if minimum > 0 and book.miners[manifest.hotkey].collateral_wei < minimum:
            explain.rejected[COLLATERAL] += 1
        elif book.ongoing_jobs(manifest.hotkey, job.executor_class, now) >= manifest.online_executor_count:
            explain.rejected[BUSY] += 1
        else:
            return Selection(manifest.hotkey, "selected", True, explain)
    if explain.rejected[COLLATERAL] == len(candidates):
        return Refusal(
            "NotEnoughCollateral",
            f"every candidate has less collateral than {minimum} wei",
            {"minimum_collateral_wei": str(minimum)},
            explain,
        )
    return Refusal(
        "AllMinersBusy",
        "every candidate's executors are busy",
        {"busy": explain.rejected[BUSY], "collateral": explain.rejected[COLLATERAL]},
        explain,
    )
