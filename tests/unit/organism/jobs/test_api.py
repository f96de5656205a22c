"""How job routing's typed refusals become HTTP errors: one table, every kind in it."""

import pytest

from organism.jobs.api import STATUS, refusal_error
from organism.jobs.outcomes import Explain, Refusal, RefusalKind


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
    ],
)
def test_status_and_hint(kind, status, hint):
    error = refusal_error(Refusal(kind, "why"))
    assert (error.status_code, error.error_type) == (status, kind.value)
    assert error.message == (f"why; {hint}" if hint else "why")


def test_explain_joins_the_details_and_retry_after_becomes_a_header():
    refusal = Refusal(RefusalKind.ALL_MINERS_BUSY, "busy", {"busy": 2}, Explain(miners=3, ranking=["a"]), retry_after_s=10)
    plain, dry = refusal_error(refusal), refusal_error(refusal, dry_run=True)
    assert plain.details["busy"] == 2 and plain.details["explain"]["miners"] == 3
    assert "ranking" not in plain.details["explain"] and dry.details["explain"]["ranking"] == ["a"]
    assert plain.headers == {"Retry-After": "10"}
