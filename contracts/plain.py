"""Records as plain data: `plain(record)`, what `dataclasses.asdict` answers, without its copies. Pure.

A record becomes a JSON document (`organism.jobs.documents`) or an HTTP body
on every pick. `dataclasses.asdict` deep-copies every leaf value on the way
(a quarter of a pick's time in the picker went there); here nested records,
lists, tuples and dicts are rebuilt and leaves are shared: the answer is
read and encoded at once, never kept.
"""

import dataclasses
from functools import cache
from typing import Any


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(cls))


def plain(value: Any) -> Any:
    """Dataclass records as dicts of their fields, recursively; lists, tuples and dicts rebuilt; other values as they are."""
    kind = type(value)
    if hasattr(kind, "__dataclass_fields__"):
        return {name: plain(getattr(value, name)) for name in _field_names(kind)}
    if kind is list or kind is tuple:
        return kind(plain(item) for item in value)
    if kind is dict:
        return {key: plain(item) for key, item in value.items()}
    return value
