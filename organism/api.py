"""How the organism's answers become HTTP: one table of refusal kind -> status, one of faults.

Both wings answer values (`contracts.refusals`): a route passes what its
wing answered through `accepted`, which raises the `ApiError` of a refusal
(`refusal_error`: the status of `STATUS`, the kind as `error.type`, the
details, for a pick the explain counts, and `Retry-After` where the refusal
says when to retry). A fault (`Unavailable`: the registry, the picker, an
organ or the database did not answer) is an exception, answered by
`on_unavailable`: 503 (504 for an organ that timed out), with `Retry-After`
where retrying soon makes sense.

A change of the control plane answers with the version it made and the
replicas that had not applied it within the bound (`acknowledged`; the
headers of `servekit.control_version`).
"""

from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from contracts.refusals import OrganTimeout, Refusal, RefusalKind, Unavailable
from organism.control_plane import Acknowledged
from servekit.control_version import LATE_HEADER, VERSION_HEADER
from servekit.errors import ApiError, error_response

T = TypeVar("T")

STATUS: dict[RefusalKind, int] = {
    RefusalKind.INVALID: 422,
    RefusalKind.NO_ACTIVE_INSTANCE: 503,
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
    RefusalKind.NOT_JOB_OWNER: 403,
    RefusalKind.RECEIPT_MISMATCH: 409,
}
HINT: dict[RefusalKind, str] = {
    RefusalKind.UNKNOWN_MINER: "PUT /organism/miners/{hotkey} first",
    RefusalKind.CURRENT_BLOCK_UNKNOWN: "PUT /organism/chain first",
    RefusalKind.CURRENT_BLOCK_STALE: "the chain feeder must PUT /organism/chain",
}
FAULT_STATUS: dict[type[Unavailable], int] = {OrganTimeout: 504}
CHANGE = {"x-control-plane-change": True}  # a route's `openapi_extra`: its answer says the version it made


def refusal_error(refusal: Refusal, with_ranking: bool = False) -> ApiError:
    message = f"{refusal.message}; {HINT[refusal.kind]}" if refusal.kind in HINT else refusal.message
    details = refusal.details
    if refusal.explain is not None:
        details = {**(details or {}), "explain": refusal.explain.as_dict(with_ranking=with_ranking)}
    headers = {"Retry-After": str(refusal.retry_after_s)} if refusal.retry_after_s is not None else None
    return ApiError(STATUS[refusal.kind], refusal.kind.value, message, details, headers)


def accepted(answer: T | Refusal, with_ranking: bool = False) -> T:
    """The answer, unless it is a refusal: then the refusal's HTTP error is raised."""
    if isinstance(answer, Refusal):
        raise refusal_error(answer, with_ranking)
    return answer


async def on_unavailable(request: Request, fault: Unavailable) -> JSONResponse:
    """Nothing was applied: a 503 (504 when an organ timed out) naming what did not answer."""
    headers: dict[str, Any] | None = {"Retry-After": str(fault.retry_after_s)} if fault.retry_after_s else None
    return error_response(FAULT_STATUS.get(type(fault), 503), type(fault).__name__, str(fault), headers=headers)


def acknowledged(response: Response, change: Acknowledged) -> None:
    """Say in the answer which control-plane version the change made, and who had not applied it."""
    response.headers[VERSION_HEADER] = str(change.version)
    if change.late:
        response.headers[LATE_HEADER] = ", ".join(change.late)
