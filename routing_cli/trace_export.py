"""`routing trace export`: the running stack's recorded routing inputs, written as a trace file.

    routing trace export --since 2h [--out trace.jsonl]     (admin token; ROUTING_URL, ROUTING_TOKEN)

Pages `GET /organism/jobs/trace?since=...` to its end and writes the header
and every event a line (stdout unless `--out`), ready for `routing
simulate`. `--since` is Unix seconds, a UTC time (`2026-12-06T10:00`), or a
duration ago (`90s`, `30m`, `2h`, `7d`); the log keeps a week.
"""

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import httpx

from routing_cli.client import ClientError, _call

PATH = "/organism/jobs/trace"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def add_verb(verbs: Any) -> None:
    export = verbs.add_parser("export", help="write the running stack's recorded routing inputs as a trace (admin)")
    export.add_argument("--since", required=True, help="Unix seconds, a UTC time (2026-12-06T10:00) or a duration ago (2h)")
    export.add_argument("--out", type=Path, help="the trace file (default: stdout)")


def since_of(text: str, now: float) -> float:
    """`--since` as Unix seconds."""
    if match := re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text.strip()):
        return now - float(match[1]) * UNITS[match[2]]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since {text!r}: Unix seconds, a UTC time or a duration ago (90s, 30m, 2h, 7d)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def pages(http: httpx.Client, since: float) -> Iterator[dict[str, Any]]:
    """Every page of the trace log from `since` on."""
    cursor = None
    while True:
        params: dict[str, Any] = {"since": since, **({"cursor": cursor} if cursor else {})}
        page = _call(http, "GET", PATH, params=params)
        yield page
        if (cursor := page["next_cursor"]) is None:
            return


def export(http: httpx.Client, since: float, out: TextIO) -> int:
    """Write the trace; how many events."""
    count = 0
    for number, page in enumerate(pages(http, since)):
        if number == 0:
            out.write(json.dumps(page["header"]) + "\n")
        for event in page["events"]:
            out.write(json.dumps(event, separators=(",", ":")) + "\n")
        count += len(page["events"])
    return count


def run(args: argparse.Namespace) -> int:
    base = os.environ.get("ROUTING_URL", "http://127.0.0.1:8000").rstrip("/")
    token = os.environ.get("ROUTING_TOKEN", "")
    headers = {"X-Service": "routing-cli", **({"Authorization": f"Bearer {token}"} if token else {})}
    try:
        since = since_of(args.since, time.time())
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            if args.out is None:
                count = export(http, since, sys.stdout)
            else:
                with args.out.open("w") as out:
                    count = export(http, since, out)
    except (ClientError, ValueError, OSError) as problem:
        print(f"routing trace export: {problem}", file=sys.stderr)
        return 1
    print(f"routing trace export: {count:,} events", file=sys.stderr)
    return 0
