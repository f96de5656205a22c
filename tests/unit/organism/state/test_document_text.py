import json

import pytest

from organism.state.document_text import document_text


@pytest.mark.parametrize(
    "doc",
    [
        {"job": "j-1", "seconds": 12.5, "tags": ["a", "b"], "nothing": None, "booked": True},
        [1, "pick-4", 1796594733.2402394, None, ["m0665", "m0214"], [[0.0, -0.9997166010192202, -(10**18)]]],
        {"collateral": 10**21},  # beyond 64 bits: the standard library encodes it
        {"hotkey": "5F\u00e9\u2603", "reason": "<img src=x onerror=alert(1)>"},
        {1: "an int key is stored as a string key"},
    ],
)
def test_a_document_reads_back_as_the_standard_library_would_store_it(doc):
    assert json.loads(document_text(doc)) == json.loads(json.dumps(doc))


def test_what_cannot_be_stored_fails_before_any_write():
    with pytest.raises(TypeError):
        document_text({"when": object()})
