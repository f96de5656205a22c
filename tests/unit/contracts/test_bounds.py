"""Each bounded type: what it takes and what it refuses, as tables."""

import functools

import pytest
from pydantic import TypeAdapter, ValidationError

from contracts.bounds import (
    Address,
    BlockNumber,
    Domain,
    DurationS,
    Flag,
    FreeText,
    Hotkey,
    Identifier,
    JsonObject,
    NonBlank,
    OptionalId,
    Seconds,
    TaskType,
    TaskTypeOrBlank,
    UnixTime,
    WeiAmount,
)


def nested(depth: int) -> dict:
    return functools.reduce(lambda inner, _: {"a": inner}, range(depth - 1), {"a": 1})


CASES = [
    (Identifier, "graph_embed", "graph_embed"),
    (Identifier, "cafe\u0301", "caf\u00e9"),  # NFC
    (Identifier, "a\u0000b", None),
    (Identifier, "\u202eevil", None),
    (Identifier, "a\nb", None),
    (Identifier, "x" * 201, None),
    (NonBlank, "  fact_search ", "fact_search"),
    (NonBlank, "\x1f", None),
    (Hotkey, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"),
    (Hotkey, "miner-a.1_b", "miner-a.1_b"),
    (Hotkey, "-leading", None),
    (Hotkey, " ", None),
    (Hotkey, "x" * 65, None),
    (Address, "10.0.0.1", "10.0.0.1"),
    (Address, "[::1]", "[::1]"),
    (Address, "miner.example.com", "miner.example.com"),
    (Address, "a b", None),
    (Address, "x" * 254, None),
    (FreeText, "late results, twice", "late results, twice"),
    (FreeText, "a\u0000b", None),
    (FreeText, "x" * 501, None),
    (BlockNumber, 25, 25),
    (BlockNumber, "25", None),
    (BlockNumber, 2**32 + 1, None),
    (BlockNumber, 10**4300, None),
    (Seconds, 604_800, 604_800),
    (Seconds, 604_801, None),
    (Seconds, 1.0, None),
    (Flag, True, True),
    (Flag, "yes", None),
    (DurationS, 3600.0, 3600.0),
    (DurationS, 1e308, None),
    (DurationS, float("nan"), None),
    (UnixTime, 1_800_000_000.0, 1_800_000_000.0),
    (UnixTime, 0.0, None),
    (WeiAmount, "1000000000000000000", 10**18),
    (WeiAmount, 1.5e18, None),
    (WeiAmount, "1" + "0" * 31, None),
    (JsonObject, {"a": [1, 2.5, "x", None, True]}, {"a": [1, 2.5, "x", None, True]}),
    (JsonObject, nested(32), nested(32)),
    (JsonObject, nested(33), None),
    (JsonObject, {"x": float("nan")}, None),
    (JsonObject, {"x": [float("inf")]}, None),
    (JsonObject, {"x": "a\ud800"}, None),
    (JsonObject, {f"k{i}": i for i in range(10_001)}, None),
]


@pytest.mark.parametrize("bounded, given, expected", CASES, ids=[f"case-{i}" for i in range(len(CASES))])
def test_bounds(bounded, given, expected):
    adapter = TypeAdapter(bounded)
    if expected is None:
        with pytest.raises(ValidationError):
            adapter.validate_python(given)
    else:
        assert adapter.validate_python(given) == expected


NORMALIZED = [
    (TaskType, "  Graph_Embed ", "graph_embed"),
    (TaskType, "HEALTH_CHECK", "health_check"),
    (TaskTypeOrBlank, " ", ""),
    (TaskTypeOrBlank, " Fact_Search", "fact_search"),
    (Domain, " FACTS ", "facts"),
    (Domain, "", None),
    (Domain, "   ", None),
    (Domain, None, None),
    (OptionalId, " graph_dispatcher ", "graph_dispatcher"),
    (OptionalId, "  ", None),
]


@pytest.mark.parametrize("bounded, given, expected", NORMALIZED, ids=[f"{i}-{c[1]!r}" for i, c in enumerate(NORMALIZED)])
def test_the_one_normalization_of_types_and_domains(bounded, given, expected):
    assert TypeAdapter(bounded).validate_python(given) == expected


def test_a_blank_task_type_is_refused():
    with pytest.raises(ValidationError):
        TypeAdapter(TaskType).validate_python("   ")
