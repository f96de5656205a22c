"""The picker keeps a routing report of every pick in the pick's own transaction (replays and re-routes
too, refusals alone), reads them back beside its queue for their owner or an admin, and answers a dry
run's in its explain."""

import dataclasses

import pytest

from contracts.audit import AuditStamp
from contracts.jobs import JobRouted
from contracts.refusals import Refusal, RefusalKind, StoreUnavailable
from organism.jobs.picker_actor import MinerPicker
from organism.state.store import InMemoryStore
from tests.unit.organism.jobs.pickers import OPS, stocked_picker
from tests.unit.organism.jobs.scenario import OWNER, job


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def picker(store: InMemoryStore) -> MinerPicker:
    return stocked_picker(store, {"a": 1000.0, "b": 500.0}, 1)


def outcomes(picker: MinerPicker, uuid: str, reader: AuditStamp = OWNER) -> list[tuple]:
    reports = picker.reports(uuid, reader)
    assert not isinstance(reports, Refusal), reports
    return [(r.outcome, r.hotkey, r.slot, r.refusal and r.refusal["type"]) for r in reports]


def test_every_pick_of_a_job_leaves_a_report_newest_first(picker):
    assert isinstance(picker.route_jobs([job("j")])[0], JobRouted)
    picker.route_jobs([job("j")])  # a replay
    picker.release_job("j", "declined", OWNER)
    picker.route_jobs([job("j")])  # routed again, elsewhere
    picker.release_job("j", "declined", OWNER)
    picker.route_jobs([job("j")])  # every candidate declined it
    assert outcomes(picker, "j") == [
        ("refused", None, None, "AllCandidatesDeclined"), ("selected", "b", 0, None), ("replayed", "a", None, None),
        ("selected", "a", 0, None)]


def test_a_pick_the_store_could_not_write_leaves_no_report(picker, store):
    store.reachable = False
    with pytest.raises(StoreUnavailable):
        picker.route_jobs([job("lost")])
    store.reachable = True
    assert picker.reports("lost", OPS).kind is RefusalKind.UNKNOWN_JOB


def test_a_report_is_its_owners_and_an_admins(picker):
    picker.route_jobs([job("j")])
    assert picker.reports("j", AuditStamp("intruder", "service", "")).kind is RefusalKind.NOT_JOB_OWNER
    assert outcomes(picker, "j", OPS) == outcomes(picker, "j", OWNER) == [("selected", "a", 0, None)]


def test_a_report_says_the_version_and_block_the_pick_was_decided_at(picker):
    picker.route_jobs([dataclasses.replace(job("j"), control_version=42)])
    kept = picker.reports("j", OWNER)[0]
    assert (kept.control_version, kept.block, kept.request["caller"]) == (42, 25, OWNER.subject)


def test_a_dry_run_answers_the_report_a_pick_would_keep_and_keeps_none(picker):
    tried = picker.dry_run(job("j"))
    shown = tried.explain.as_dict(with_ranking=True)["report"]
    assert shown["dry_run"] and shown["outcome"]["hotkey"] == "a"
    assert [(c["hotkey"], c["rank"]) for c in shown["candidates"]] == [("a", 0), ("b", 1)]
    assert picker.reports("j", OPS).kind is RefusalKind.UNKNOWN_JOB
