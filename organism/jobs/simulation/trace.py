"""The trace format: one JSON object a line, a header then time-ordered events. Pure.

The first line is the header, `{"trace": "routing-jobs", "version": 1}`; a
trace of another version is refused. Every later line is an event with its
`kind` and `at` (Unix seconds: the simulator's clock); `EVENT_FIELDS` lists
each kind's fields (those after `|` may be left out):

- `config` `patch`: a `PATCH /config` body (the dynamic config);
- `miner` (registered) `hotkey address port ip_version collateral_wei`; `deregister` `hotkey`;
- `manifests` `manifests`: rows of `hotkey executor_class online_executor_count executor_count | observed_at`;
- `allowances` `allowances`: rows of `hotkey cycle_start cycle_stop initial remaining`;
- `block` `block`; `blacklist` `hotkey reason | duration_s` (null: permanent); `lift` `hotkey`;
- `route`: `job` (the `JobSpec` fields), `| live` (what the live picker answered, when recorded:
  `{"hotkey": ...}` or `{"refused": "AllMinersBusy"}`), `| then` (what the miner does with each
  booking of the job, in order, the last repeated: `{"outcome": "finished", "start_after_s": 2,
  "run_s": 300}`, outcome one of `finished declined failed timeout cancelled`), `| attempts` (how
  often the caller asks in all, when refused as busy or when the miner declines, fails or times
  out: 1 unless said; a recorded trace has each attempt on a line of its own);
- `receipt` `receipt_kind job_uuid hotkey executor_class | ttl_s reporter timestamp` (the receipt's own
  time, when it is not `at`); `release` `job_uuid reason | caller caller_is_admin`;
- `seed` `seed`: the spread ordering's random source is seeded with it from here on (a recorded trace
  has one wherever the live picker started, `recording.py`).

A line that is not a JSON object, lacks a field, has one of the wrong type
or an unknown kind, or runs back in time, stops the reading with a
`TraceError` naming its line number.
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

FORMAT = "routing-jobs"
VERSION = 1
HEADER = {"trace": FORMAT, "version": VERSION}
OUTCOMES = ("finished", "declined", "failed", "timeout", "cancelled")
RECEIPT_KINDS = ("started", "finished", "declined", "failed")
RELEASE_REASONS = ("declined", "failed", "timeout", "cancelled")
JOB_FIELDS = {"job_uuid": str, "executor_class": str, "download_time_limit": int, "execution_time_limit": int,
              "upload_time_limit": int, "streaming_start_time_limit": int, "on_trusted_miner": bool}
NUMBER = (int, float)
EVENT_FIELDS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {  # kind -> (required, optional) field -> type
    "config": ({"patch": dict}, {}),
    "miner": ({"hotkey": str, "address": str, "port": int, "ip_version": int, "collateral_wei": (int, str)}, {}),
    "deregister": ({"hotkey": str}, {}),
    "manifests": ({"manifests": list}, {}),
    "allowances": ({"allowances": list}, {}),
    "block": ({"block": int}, {}),
    "blacklist": ({"hotkey": str, "reason": str}, {"duration_s": (*NUMBER, type(None))}),
    "lift": ({"hotkey": str}, {}),
    "route": ({"job": dict}, {"live": dict, "then": list, "attempts": int}),
    "receipt": ({"receipt_kind": str, "job_uuid": str, "hotkey": str, "executor_class": str},
                {"ttl_s": (*NUMBER, type(None)), "reporter": str, "timestamp": NUMBER}),
    "release": ({"job_uuid": str, "reason": str}, {"caller": str, "caller_is_admin": bool}),
    "seed": ({"seed": int}, {}),
}
ROW_FIELDS = {
    "manifests": {"hotkey": str, "executor_class": str, "online_executor_count": int, "executor_count": int},
    "allowances": {"hotkey": str, "cycle_start": int, "cycle_stop": int, "initial": NUMBER, "remaining": NUMBER},
}
CHOICES = {"receipt": ("receipt_kind", RECEIPT_KINDS), "release": ("reason", RELEASE_REASONS)}  # kind -> a field's values


class TraceError(ValueError):
    """A trace that cannot be replayed: the line (1 = the header) and what is wrong with it."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line, self.problem = line, problem


@dataclass(frozen=True, slots=True)
class Event:
    """One line of a trace: its kind, its time, and its fields as written (checked)."""

    kind: str
    at: float
    fields: dict[str, Any]
    line: int = 0

    def as_json(self) -> str:
        return json.dumps({"kind": self.kind, "at": self.at, **self.fields}, separators=(",", ":"))


def _typed(name: str, value: Any, expected: Any) -> None:
    if not isinstance(value, expected) or (isinstance(value, bool) and expected in (int, NUMBER)):
        raise ValueError(f"{name} has the wrong type ({type(value).__name__})")


def _check_fields(where: str, record: dict[str, Any], required: dict[str, Any], optional: dict[str, Any]) -> None:
    for name, expected in required.items():
        if name not in record:
            raise ValueError(f"{where}lacks {name}")
        _typed(where + name, record[name], expected)
    for name, expected in optional.items():
        if name in record:
            _typed(where + name, record[name], expected)


def _check_event(kind: str, record: dict[str, Any]) -> None:
    required, optional = EVENT_FIELDS[kind]
    _check_fields("", record, required, optional)
    if kind in CHOICES and record[(name := CHOICES[kind][0])] not in CHOICES[kind][1]:
        raise ValueError(f"{name} {record[name]!r} is not one of {', '.join(CHOICES[kind][1])}")
    for position, row in enumerate(record.get(kind, ()) if kind in ROW_FIELDS else ()):
        if not isinstance(row, dict):
            raise ValueError(f"{kind}.{position} is not an object")
        _check_fields(f"{kind}.{position}.", row, ROW_FIELDS[kind], {"observed_at": NUMBER})
    if kind == "route":
        _check_fields("job.", record["job"], JOB_FIELDS, {"caller": str, "caller_is_admin": bool})
        for position, reaction in enumerate(record.get("then", ())):
            if not isinstance(reaction, dict) or reaction.get("outcome") not in OUTCOMES:
                raise ValueError(f"then.{position}.outcome must be one of {', '.join(OUTCOMES)}")
            _check_fields(f"then.{position}.", reaction, {}, {"start_after_s": NUMBER, "run_s": NUMBER})


def parse_line(text: str, line: int) -> dict[str, Any]:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise TraceError(line, f"not JSON ({error.msg}, column {error.colno}); a truncated line?") from None
    if not isinstance(record, dict):
        raise TraceError(line, "not a JSON object")
    return record


def check_header(text: str) -> None:
    header = parse_line(text, 1) if text.strip() else None
    if header is None or header.get("trace") != FORMAT:
        raise TraceError(1, f'not a routing trace: the first line must be {json.dumps(HEADER)}')
    if header.get("version") != VERSION:
        raise TraceError(1, f"trace version {header.get('version')!r} is not supported (this reads version {VERSION})")


def read(lines: Iterable[str]) -> Iterator[Event]:
    """The events of a trace, checked as they are read (a `TraceError` stops the reading)."""
    numbered = enumerate(lines, start=1)
    first = next(numbered, (1, ""))[1]
    check_header(first)
    last_at = float("-inf")
    for line, text in numbered:
        if not text.strip():
            continue
        record = parse_line(text, line)
        kind, at = record.pop("kind", None), record.pop("at", None)
        if kind not in EVENT_FIELDS:
            raise TraceError(line, f"unknown event kind {kind!r}")
        if not isinstance(at, NUMBER) or isinstance(at, bool):
            raise TraceError(line, "lacks a numeric at")
        if at < last_at:
            raise TraceError(line, f"at {at} runs back in time (the line before is at {last_at})")
        try:
            _check_event(kind, record)
        except ValueError as problem:
            raise TraceError(line, f"{kind}: {problem}") from None
        last_at = at
        yield Event(kind, float(at), record, line)


def write(out: TextIO, events: Iterable[Event]) -> int:
    """A trace: the header, then each event a line; how many events were written."""
    out.write(json.dumps(HEADER) + "\n")
    count = 0
    for event in events:
        out.write(event.as_json() + "\n")
        count += 1
    return count
