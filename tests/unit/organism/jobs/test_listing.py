"""The miners listing as its route answers it: each miner the api's model shows, paged, wei as decimal strings."""

import dataclasses

import orjson
import pytest

from contracts.jobs import BlacklistEntry, Incident
from organism.jobs import views
from organism.jobs.listing import miners_json
from organism.jobs.models import MinersOut, MinerStatusOut
from tests.unit.organism.jobs.scenario import BLOCK, NOW, job, make_book, reserve, run

BIG_WEI = 123456789012345678901234567  # beyond 64 bits


@pytest.fixture
def book():
    book = make_book(*({"hotkey": h, "online": 2} for h in "abc"))
    book.upsert_miner(dataclasses.replace(book.miners["b"], collateral_wei=BIG_WEI))
    reserve(book, run(book, job("first")), "first")
    book.set_blacklist(BlacklistEntry("c", "bad", NOW, NOW + 60))
    book.incidents["c"] = [Incident("declined", "c", "gone", NOW - 5)]
    return book


@pytest.mark.parametrize(
    "case, filters, hotkeys",
    [
        ("every miner", {}, ["a", "b", "c"]),
        ("after a cursor", {"after": "a"}, ["b", "c"]),
        ("blacklisted ones", {"blacklisted": True}, ["c"]),
        ("a class nobody offers", {"executor_class": "none.here"}, []),
    ],
)
def test_the_listing_is_each_status_as_the_api_model_shows_it(book, case, filters, hotkeys):
    listed = orjson.loads(miners_json(book, NOW, BLOCK, 10, **filters))
    expected = [MinerStatusOut.of(views.miner_status(book, h, NOW, BLOCK)).model_dump(mode="json") for h in hotkeys]
    assert listed == {"miners": expected, "next_cursor": None}
    MinersOut.model_validate(listed)  # and the route's declared model reads it back


def test_a_listing_pages_by_hotkey_and_keeps_wei_exact(book):
    first = orjson.loads(miners_json(book, NOW, BLOCK, 2))
    assert ([m["hotkey"] for m in first["miners"]], first["next_cursor"]) == (["a", "b"], "b")
    assert first["miners"][1]["collateral_wei"] == str(BIG_WEI)
    assert MinersOut.model_validate(first).miners[1].collateral_wei == BIG_WEI
    rest = orjson.loads(miners_json(book, NOW, BLOCK, 2, after=first["next_cursor"]))
    assert ([m["hotkey"] for m in rest["miners"]], rest["next_cursor"]) == (["c"], None)
    assert rest["miners"][0]["incidents"] == [{"kind": "declined", "job_uuid": "gone", "at": NOW - 5}]
