"""How contract records cross a process boundary fast: `compact` for slotted dataclasses. Pure.

Every call to an actor pickles its arguments and its answer. A dataclass
with `slots=True` pickles through its generated `__getstate__`/`__setstate__`
(a Python call per field), several times slower than a plain object: a page
of 1,000 miner statuses took 44 ms to pickle and unpickle. `compact` makes a
record pickle as its class and its field values in order, rebuilt by calling
the class (`__init__` takes them as they were).
"""

import dataclasses
import operator
from typing import Any, TypeVar

T = TypeVar("T")


def compact(cls: type[T]) -> type[T]:
    """`cls` (a dataclass whose fields are all positional `__init__` arguments) pickled as (cls, values)."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if any(not f.init or f.kw_only for f in fields):
        raise TypeError(f"{cls.__name__}: every field must be a positional __init__ argument to be compact")
    values = operator.attrgetter(*(f.name for f in fields))
    if len(fields) == 1:
        single = values
        values = lambda record: (single(record),)  # noqa: E731 - attrgetter of one name answers the value itself

    def reduce(record: Any) -> tuple[type[T], tuple[Any, ...]]:
        return cls, values(record)

    cls.__reduce__ = reduce  # type: ignore[method-assign,assignment]
    return cls
