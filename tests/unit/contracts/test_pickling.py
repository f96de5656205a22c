"""Compact records pickle as (class, values) and come back equal, through pickle and Ray's cloudpickle."""

import dataclasses
import pickle

import pytest
from ray import cloudpickle

from contracts.jobs import Allowance, Incident, JobSpec, Manifest, Miner, MinerAddress, MinerStatus
from contracts.pickling import compact


@compact
@dataclasses.dataclass(frozen=True, slots=True)
class One:
    value: int


@compact
@dataclasses.dataclass(slots=True)
class WithDefault:
    name: str
    tags: tuple[str, ...] = ()


MINER = Miner("hk", "10.0.0.1", 8000, 4, 10**18)
RECORDS = [
    One(7),
    WithDefault("x"),
    WithDefault("y", ("a", "b")),
    JobSpec("uuid", "always_on.test", 1, 2, 3, 4, False, "validator", True),
    MinerStatus(MINER, None, {"c": Manifest("hk", "c", 2, 3, 1.5, 9)}, Allowance("hk", -14, 708, 10.0, 5.0),
                {"c": 1}, {"c": 1}, 2.5, (Incident("declined", "hk", "j", 3.0, "validator"),), 1),
    MinerAddress("hk", "::1", 1, 6),
]


@pytest.mark.parametrize("dumps, loads", [(pickle.dumps, pickle.loads), (cloudpickle.dumps, cloudpickle.loads)])
@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_a_compact_record_comes_back_equal(record, dumps, loads):
    assert loads(dumps(record)) == record


def test_a_compact_record_pickles_as_its_class_and_values():
    assert MINER.__reduce__() == (Miner, ("hk", "10.0.0.1", 8000, 4, 10**18))


def test_a_record_with_keyword_only_fields_cannot_be_compact():
    @dataclasses.dataclass(kw_only=True)
    class Named:
        value: int

    with pytest.raises(TypeError, match="positional"):
        compact(Named)
