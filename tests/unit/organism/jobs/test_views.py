"""The read views: jobs newest first, filtered and paged; miners by hotkey, filtered and paged; a deregistered miner."""

import pytest

from contracts.jobs import BlacklistEntry, JobState, Miner
from organism.jobs import lifecycle
from organism.jobs.views import jobs_page, miner_status, miners_page

from .scenario import BLOCK, CLASS, NOW, OWNER, job, make_book, refused, reserve, run


@pytest.fixture
def book():
    book = make_book(*({"hotkey": h, "online": 10} for h in ("a", "b", "c")), {"hotkey": "d", "online": None})
    for n in range(5):
        reserve(book, run(book, job(f"job-{n}"), now=NOW + n), f"job-{n}", now=NOW + n)
    lifecycle.release(book, "job-1", "cancelled", NOW + 5, OWNER)
    return book


def every_page(fetch, limit: int) -> list[list]:
    pages, cursor = [], None
    while True:
        page, cursor = fetch(limit, cursor)
        pages.append(page)
        if cursor is None:
            return pages


NEWEST_FIRST = ["job-4", "job-3", "job-2", "job-1", "job-0"]


@pytest.mark.parametrize(
    "case, state, on, expected",
    [
        ("newest first", None, None, lambda book: NEWEST_FIRST),
        ("by state", JobState.RELEASED, None, lambda book: ["job-1"]),
        ("by hotkey", None, "a", lambda book: [u for u in NEWEST_FIRST if book.jobs[u].hotkey == "a"]),
        ("nothing on a hotkey", None, "d", lambda book: []),
    ],
)
def test_jobs_pages(book, case, state, on, expected):
    pages = every_page(lambda limit, cursor: jobs_page(book, NOW + 6, limit, cursor, state, on), 2)
    assert [v.job_uuid for page in pages for v in page] == expected(book)
    assert all(len(page) <= 2 for page in pages)


@pytest.mark.parametrize(
    "case, filters, hotkeys",
    [
        ("all, by hotkey", {}, ["a", "b", "c", "d"]),
        ("with a manifest of the class", {"executor_class": CLASS}, ["a", "b", "c"]),
        ("blacklisted only", {"blacklisted": True}, ["b"]),
        ("not blacklisted", {"blacklisted": False}, ["a", "c", "d"]),
    ],
)
def test_miners_pages(book, case, filters, hotkeys):
    book.set_blacklist(BlacklistEntry("b", "x", NOW, None))
    pages = every_page(lambda limit, cursor: miners_page(book, NOW, BLOCK, limit, cursor, **filters), 3)
    assert [s.miner.hotkey for page in pages for s in page] == hotkeys


def test_a_deregistered_miner_leaves_the_candidates_and_its_jobs_stay():
    book = make_book({"hotkey": "a", "online": 10})
    reserve(book, run(book, job("kept")), "kept")
    book.deregister("a")
    assert refused(run(book, job("new"))) == "NoMinerForExecutorType"
    (view,), _ = jobs_page(book, NOW, 10)
    assert (view.job_uuid, view.hotkey, view.miner) == ("kept", "a", None)  # no address once deregistered
    book.upsert_miner(Miner("a", "10.0.0.9", 8000, 4, 10**18))
    assert miner_status(book, "a", NOW, BLOCK).manifests == {}  # registered again: its manifests start afresh
