"""`routing trace export`: `--since` read as seconds, a UTC time or a duration ago; every page written as one trace."""

import io
import json

import httpx
import pytest

from organism.jobs.simulation.trace import HEADER, read
from routing_cli.trace_export import export, since_of

NOW = 1_800_000_000.0

SINCE = [
    ("Unix seconds", "1795470000.5", 1795470000.5),
    ("a UTC time", "2026-12-06T10:00", 1796551200.0),
    ("a time with its zone", "2026-12-06T11:00+01:00", 1796551200.0),
    ("seconds ago", "90s", NOW - 90),
    ("minutes ago", "30m", NOW - 1800),
    ("hours ago", "2h", NOW - 7200),
    ("days ago", "7d", NOW - 7 * 86_400),
]


@pytest.mark.parametrize("name, text, expected", SINCE, ids=[case[0] for case in SINCE])
def test_since(name, text, expected):
    assert since_of(text, NOW) == expected


def test_a_since_it_cannot_read_is_refused():
    with pytest.raises(ValueError, match="a duration ago"):
        since_of("yesterday", NOW)


def test_every_page_is_written_after_one_header():
    pages = {None: ([{"kind": "block", "at": 1.0, "block": 5}], "c1"), "c1": ([{"kind": "lift", "at": 2.0, "hotkey": "m"}], None)}
    asked = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(dict(request.url.params))
        events, following = pages[request.url.params.get("cursor")]
        return httpx.Response(200, json={"header": HEADER, "events": events, "next_cursor": following})

    out = io.StringIO()
    with httpx.Client(base_url="http://stack", transport=httpx.MockTransport(answer)) as http:
        assert export(http, 5.0, out) == 2
    assert asked == [{"since": "5.0"}, {"since": "5.0", "cursor": "c1"}]
    assert [(e.kind, e.at) for e in read(io.StringIO(out.getvalue()))] == [("block", 1.0), ("lift", 2.0)]
    assert json.loads(out.getvalue().splitlines()[0]) == HEADER
