"""The organism's one error idiom: a refusal is a value, a fault is an exception. Pure.

A *refusal* is a decision: the organism will not do what was asked and says
why (`Refusal`: a `RefusalKind`, a message safe to show, details, and for a
pick the `Explain` counts). Nothing was changed. Both wings return refusals
from their core, their actors and their replica-side clients, and only the
api layer turns one into an HTTP answer, through one table of kind -> status.

A *fault* is an exception: a component did not answer in time, so the
organism cannot decide; nothing was applied (a retry is safe):

    Unavailable
    +-- RegistryUnavailable   the runtime registry
    +-- PickerUnavailable     the miner picker
    +-- StoreUnavailable      the database behind an actor
    +-- StaleReplica          a replica that cannot confirm it holds the control plane's current version
    +-- OrganUnavailable      an organ failed or is gone
        +-- OrganTimeout      an organ did not answer in time (it may have run the step)

Refusals cross actor boundaries as plain values; Ray re-raises an actor's
fault as an instance of the same class, so `except StoreUnavailable` works
on either side.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from contracts.jobs import Explain
from contracts.pickling import compact


class RefusalKind(StrEnum):
    INVALID = "ValidationError"  # the request names something that cannot be: details name each field
    NO_ACTIVE_INSTANCE = "NoActiveInstance"
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
    NOT_JOB_OWNER = "NotJobOwner"  # the job belongs to another caller
    RECEIPT_MISMATCH = "ReceiptMismatch"


@compact
@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One rejected field: a dotted path into the request and what is wrong with it."""

    field: str
    problem: str


@compact
@dataclass(frozen=True, slots=True)
class Refusal:
    kind: RefusalKind
    message: str
    details: Any = None
    explain: Explain | None = None
    retry_after_s: int | None = None


def invalid(problems: list[FieldProblem]) -> Refusal:
    """A refusal naming each field and its problem (a 422 over HTTP)."""
    message = "; ".join(f"{p.field}: {p.problem}" for p in problems)
    return Refusal(RefusalKind.INVALID, message, [{"field": p.field, "problem": p.problem} for p in problems])


class Unavailable(Exception):
    """A component did not answer in time; nothing was applied. The message is safe to show."""

    retry_after_s: int | None = None
    behind: str = "component"  # what it is, as the actor behind which it failed names it


class RegistryUnavailable(Unavailable):
    pass


class PickerUnavailable(Unavailable):
    retry_after_s = 1


class StoreUnavailable(Unavailable):
    """The database did not answer in time; nothing of the operation was written."""

    retry_after_s = 1
    behind = "store"


class StaleReplica(Unavailable):
    """This replica cannot confirm it has applied the control-plane version asked for (or any
    current one): it answers nothing from an older one."""

    retry_after_s = 1


class OrganUnavailable(Unavailable):
    pass


class OrganTimeout(OrganUnavailable):
    pass
