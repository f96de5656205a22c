"""`plain` answers what `dataclasses.asdict` answers, for every shape a record takes."""

import dataclasses

import pytest

from contracts.jobs import Allowance, BlacklistEntry, Manifest, Miner
from contracts.plain import plain


@dataclasses.dataclass(frozen=True, slots=True)
class Inner:
    name: str
    tags: tuple[str, ...] = ()


@dataclasses.dataclass
class Outer:
    inner: Inner
    items: list[Inner]
    by_key: dict[str, Inner]
    maybe: Inner | None = None
    count: int = 0


@pytest.mark.parametrize(
    "record",
    [
        Miner("m1", "10.0.0.1", 8000, 4, 10**18),
        Manifest("m1", "spin_up-4min.gpu-24gb", 3, 4, 1.5, 0),
        Allowance("m1", -14, 708, 1e9, 5e8),
        BlacklistEntry("m1", "flaky", 1.0, None),
        Outer(Inner("a", ("x", "y")), [Inner("b")], {"k": Inner("c")}, None, 3),
        Outer(Inner("a"), [], {}, Inner("d", ("z",))),
    ],
    ids=lambda record: type(record).__name__,
)
def test_plain_is_asdict(record):
    assert plain(record) == dataclasses.asdict(record)
    assert type(plain(record)) is dict


def test_containers_are_rebuilt_so_the_answer_is_not_the_record():
    record = Outer(Inner("a"), [Inner("b")], {"k": Inner("c")})
    answer = plain(record)
    answer["items"].append("changed")
    assert record.items == [Inner("b")]


def test_values_that_are_not_records_are_themselves():
    assert [plain(value) for value in (1, "s", None, 2.5)] == [1, "s", None, 2.5]
