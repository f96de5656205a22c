"""How the organism's refusals and faults become HTTP errors: one table each, every kind in it."""

import asyncio
import json

import pytest

from contracts.jobs import Explain
from contracts.refusals import (
    OrganTimeout,
    OrganUnavailable,
    PickerUnavailable,
    Refusal,
    RefusalKind,
    RegistryUnavailable,
    StoreUnavailable,
    Unavailable,
)
from organism.api import STATUS, accepted, on_unavailable, refusal_error
from servekit.errors import ApiError


def test_every_refusal_kind_has_a_status():
    assert set(STATUS) == set(RefusalKind)


@pytest.mark.parametrize(
    "kind, status, hint",
    [
        (RefusalKind.ALL_MINERS_BUSY, 503, None),
        (RefusalKind.CURRENT_BLOCK_UNKNOWN, 503, "PUT /organism/chain first"),
        (RefusalKind.UNKNOWN_MINER, 404, "PUT /organism/miners/{hotkey} first"),
        (RefusalKind.INVALID, 422, None),
        (RefusalKind.NOT_ENOUGH_COLLATERAL, 409, None),
        (RefusalKind.RECEIPT_MISMATCH, 409, None),
        (RefusalKind.NO_ACTIVE_INSTANCE, 503, None),
    ],
)
def test_status_and_hint(kind, status, hint):
    error = refusal_error(Refusal(kind, "why"))
    assert (error.status_code, error.error_type) == (status, kind.value)
    assert error.message == (f"why; {hint}" if hint else "why")


def test_explain_joins_the_details_and_retry_after_becomes_a_header():
    refusal = Refusal(RefusalKind.ALL_MINERS_BUSY, "busy", {"busy": 2}, Explain(miners=3, ranking=["a"]), retry_after_s=10)
    plain, dry = refusal_error(refusal), refusal_error(refusal, with_ranking=True)
    assert plain.details["busy"] == 2 and plain.details["explain"]["miners"] == 3
    assert "ranking" not in plain.details["explain"] and dry.details["explain"]["ranking"] == ["a"]
    assert plain.headers == {"Retry-After": "10"}


def test_accepted_passes_an_answer_and_raises_a_refusals_error():
    assert accepted("answer") == "answer"
    with pytest.raises(ApiError) as raised:
        accepted(Refusal(RefusalKind.UNKNOWN_JOB, "never routed"))
    assert (raised.value.status_code, raised.value.error_type) == (404, "UnknownJob")


@pytest.mark.parametrize(
    "fault, status, retry_after",
    [
        (RegistryUnavailable, 503, None),
        (PickerUnavailable, 503, "1"),
        (StoreUnavailable, 503, "1"),
        (OrganUnavailable, 503, None),
        (OrganTimeout, 504, None),
    ],
)
def test_faults_answer_503_or_504_naming_what_did_not_answer(fault: type[Unavailable], status, retry_after):
    response = asyncio.run(on_unavailable(None, fault("it did not answer; nothing was written")))
    body = json.loads(response.body)
    assert (response.status_code, body["error"]["type"]) == (status, fault.__name__)
    assert response.headers.get("retry-after") == retry_after
