"""Typed answers of job routing: what the picker actor and the policy return. Pure.

A refusal is a value (`Refusal`) with a `RefusalKind`, never an HTTP status:
the api layer owns the one table from kind to status. `Explain` counts why
miners were passed over, keyed by the names of the selection filters. A
`Change` is what a decision asks the picker actor to write, with its answer.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from organism.state.store import Delete, Put


class RefusalKind(StrEnum):
    JOB_ALREADY_FINISHED = "JobAlreadyFinished"
    NO_TRUSTED_MINER = "NoTrustedMiner"
    CURRENT_BLOCK_UNKNOWN = "CurrentBlockUnknown"
    CURRENT_BLOCK_STALE = "CurrentBlockStale"
    NOT_ENOUGH_TIME_IN_CYCLE = "NotEnoughTimeInCycle"
    NO_MINER_FOR_EXECUTOR_TYPE = "NoMinerForExecutorType"
    NO_MINER_WITH_ENOUGH_ALLOWANCE = "NoMinerWithEnoughAllowance"
    NOT_ENOUGH_COLLATERAL = "NotEnoughCollateral"
    ALL_MINERS_BUSY = "AllMinersBusy"
    ALL_CANDIDATES_DECLINED = "AllCandidatesDeclined"
    UNKNOWN_MINER = "UnknownMiner"
    UNKNOWN_JOB = "UnknownJob"
    RECEIPT_MISMATCH = "ReceiptMismatch"
    INVALID = "ValidationError"


@dataclass
class Explain:
    """Why a pick went the way it did: counts per filter, and for a dry run the
    ranking, each ranked miner's scores and each passed-over miner's reason."""

    miners: int = 0
    candidates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    remaining_s: int | None = None
    required_s: int | None = None
    ranking: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # hotkey -> "filter: reason"
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # hotkey -> scorer name -> score

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
            body["reasons"] = self.reasons
            body["scores"] = self.scores
        return body


@dataclass(frozen=True, slots=True)
class Refusal:
    kind: RefusalKind
    message: str
    details: Any = None
    explain: Explain | None = None
    retry_after_s: int | None = None


@dataclass(frozen=True, slots=True)
class MinerAddress:
    hotkey: str
    address: str
    port: int
    ip_version: int


@dataclass(frozen=True, slots=True)
class JobRouted:
    job_uuid: str
    miner: MinerAddress
    reason: str  # selected | debug_miner | trusted_miner
    reservation_expires_at: float | None
    replayed: bool
    dry_run: bool
    explain: Explain


@dataclass(frozen=True, slots=True)
class Change:
    """An answer, and what to write (in one transaction) before giving it."""

    answer: Any
    puts: list[Put] = field(default_factory=list)
    deletes: list[Delete] = field(default_factory=list)
    release_claim: bool = False  # the job's slot claim in the store goes
    hold_claim_until: float | None = None  # or is held until then
