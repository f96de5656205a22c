"""Routing reports as the store keeps them: read back as written, a job's alone, newest first across days,
forgotten after the audit trail's 90 days; the stored format names today's filters and scorers."""

import pytest

from contracts.jobs import JobRouted
from organism.jobs import documents, report
from organism.jobs.documents import DAY_S, REPORT_FORMAT, REPORT_RETENTION_S, REPORT_VOCABULARIES
from organism.jobs.filters import CANDIDATE_FILTERS, FILTER_NAMES, SCORER_NAMES
from organism.jobs.policy import pick
from organism.jobs.records import Writes
from organism.state.store import InMemoryStore

from .scenario import BLOCK, NETUID, NOW, job, make_book, reserve


def kept_report(uuid: str, at: float, online: int = 2):
    """The report of a pick of `uuid` at `at` over three miners, one of them blacklisted."""
    book = make_book({"hotkey": "a", "online": online}, {"hotkey": "b"}, {"hotkey": "c", "online": 0})
    reserve(book, pick(book, job("other"), BLOCK, NETUID, NOW), "other")
    spec = job(uuid)
    outcome = pick(book, spec, BLOCK, NETUID, NOW)
    answer = JobRouted(uuid, book.miners[outcome.hotkey].contact(), outcome.reason, at + 30, False, False, outcome.explain)
    return report.build(spec, answer, at, BLOCK, 1, "validator")


def stored(*reports) -> InMemoryStore:
    store = InMemoryStore()
    with store.transaction() as tx:
        documents.write(tx, Writes(list(reports)))
    return store


def test_a_report_reads_back_as_it_was_written():
    written = kept_report("j", NOW)
    assert documents.reports_of(stored(written), "j", NOW) == [written]


def test_a_jobs_reports_are_its_own_newest_first_across_days():
    reports = [kept_report("j", NOW - 3 * DAY_S), kept_report("j", NOW - 1), kept_report("j", NOW),
               kept_report("j2", NOW), kept_report("i", NOW)]  # uuids that sort next to it are not its
    found = documents.reports_of(stored(*reports), "j", NOW)
    assert [(r.job_uuid, r.decided_at) for r in found] == [("j", NOW), ("j", NOW - 1), ("j", NOW - 3 * DAY_S)]


@pytest.mark.parametrize("age_days, kept", [(0, True), (89, True), (90, True), (91.01, False), (150, False)])
def test_reports_are_kept_like_the_audit_trail(age_days, kept):
    """90 days, and up to a day more: a day of reports goes whole."""
    store = stored(kept_report("j", NOW - age_days * DAY_S))
    documents.forget_reports(store, NOW)
    assert bool(store.page(documents._reports_of_day(int((NOW - age_days * DAY_S) // DAY_S)), None, 10)) is kept
    assert bool(documents.reports_of(store, "j", NOW)) is kept
    assert REPORT_RETENTION_S == 90 * DAY_S


def test_the_stored_format_names_todays_filters_and_scorers():
    """A filter or scorer added, removed or renamed needs a new format (old reports keep their names)."""
    assert REPORT_VOCABULARIES[REPORT_FORMAT] == (FILTER_NAMES, len(CANDIDATE_FILTERS), SCORER_NAMES)


def test_reports_are_never_loaded_into_the_book():
    store = stored(kept_report("j", NOW))
    assert not any(collection.startswith(documents.REPORTS) for collection in documents.COLLECTIONS)
    assert documents.load_book(store).jobs == {}
