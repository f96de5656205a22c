"""A job's life over the book: each state transition, release, routing again after a decline,
the allowance held while routing, and the phantom slot of a job routed again elsewhere."""

from dataclasses import replace

import pytest

from contracts.audit import AuditStamp
from contracts.jobs import BlacklistEntry
from contracts.refusals import Refusal
from organism.jobs import lifecycle
from organism.jobs.records import Writes
from organism.jobs.views import job_view, miner_status

from .scenario import BLOCK, CLASS, FEEDER, NOW, OWNER, job, make_book, refused, reserve, run, selected


def route(book, uuid: str = "job-1", now: float = NOW) -> str:
    outcome = run(book, job(uuid), now=now)
    reserve(book, outcome, uuid, now=now)
    return selected(outcome)


def receipt(book, kind: str, uuid: str = "job-1", hotkey: str = "a", at: float = NOW):
    return lifecycle.receipt(book, kind, uuid, hotkey, CLASS, at, None, at, BLOCK, FEEDER)


STEPS = {
    "route": lambda book, at: route(book, now=at),
    "start": lambda book, at: receipt(book, "started", at=at),
    "finish": lambda book, at: receipt(book, "finished", at=at),
    "decline (receipt)": lambda book, at: receipt(book, "declined", at=at),
    "fail (receipt)": lambda book, at: receipt(book, "failed", at=at),
    "release: cancelled": lambda book, at: lifecycle.release(book, "job-1", "cancelled", at, OWNER),
    "release: timeout": lambda book, at: lifecycle.release(book, "job-1", "timeout", at, OWNER),
    "release: failed": lambda book, at: lifecycle.release(book, "job-1", "failed", at, OWNER),
    "release: declined": lambda book, at: lifecycle.release(book, "job-1", "declined", at, OWNER),
}


@pytest.mark.parametrize(
    "steps, state, history",
    [
        (["route"], "reserved", ["reserved"]),
        (["route", "lapse"], "expired", ["reserved"]),
        (["route", "start"], "running", ["reserved", "running"]),
        (["route", "start", "finish"], "finished", ["reserved", "running", "finished"]),
        (["route", "finish"], "finished", ["reserved", "finished"]),
        (["route", "decline (receipt)"], "declined", ["reserved", "declined"]),
        (["route", "start", "fail (receipt)"], "failed", ["reserved", "running", "failed"]),
        (["route", "release: cancelled"], "released", ["reserved", "released"]),
        (["route", "release: timeout"], "failed", ["reserved", "failed"]),
        (["route", "start", "release: failed"], "failed", ["reserved", "running", "failed"]),
        (["route", "lapse", "release: declined"], "declined", ["reserved", "declined"]),
        (["route", "release: cancelled", "release: declined"], "released", ["reserved", "released"]),  # idempotent
        (["route", "start", "finish", "release: failed"], "finished", ["reserved", "running", "finished"]),
        (["route", "decline (receipt)", "decline (receipt)"], "declined", ["reserved", "declined"]),
        (["route", "decline (receipt)", "route"], "reserved", ["reserved", "declined", "reserved"]),
    ],
    ids=lambda v: " > ".join(v) if isinstance(v, list) else v,
)
def test_transitions(steps, state, history):
    book = make_book({"hotkey": "a", "online": 2}, {"hotkey": "b", "online": 2})
    at = NOW
    for step in steps:
        if step == "lapse":
            at += 11  # the reservation (10 s) lapsed
            continue
        assert not isinstance(STEPS[step](book, at), Refusal), step
        at += 1
    view = job_view(book, book.jobs["job-1"], at)
    assert (view.state, [event.state for event in view.history]) == (state, history)


def test_release_frees_the_slot_and_the_held_allowance_at_once_and_is_idempotent():
    book = make_book({"hotkey": "a", "online": 1, "remaining": 1000.0})
    route(book)
    assert refused(run(book, job("job-2"))) == "AllMinersBusy"
    assert miner_status(book, "a", NOW, BLOCK).held_seconds == 40
    change = lifecycle.release(book, "job-1", "cancelled", NOW + 1, OWNER)
    assert change.release_claim and change.answer.state == "released"
    assert miner_status(book, "a", NOW + 1, BLOCK).held_seconds == 0
    assert selected(run(book, job("job-2"), now=NOW + 1)) == "a"
    again = lifecycle.release(book, "job-1", "cancelled", NOW + 2, OWNER)
    assert (again.writes, again.release_claim, again.answer.state) == (Writes(), False, "released")


def test_release_of_a_job_never_routed_here_is_unknown():
    assert lifecycle.release(make_book({"hotkey": "a"}), "nope", "cancelled", NOW, OWNER).kind.value == "UnknownJob"


def test_routing_a_declined_job_again_picks_afresh_and_not_the_miner_that_declined():
    book = make_book({"hotkey": "a", "remaining": 1000.0}, {"hotkey": "b", "remaining": 500.0})  # a ranks first
    assert route(book) == "a"
    lifecycle.release(book, "job-1", "declined", NOW + 1, OWNER)
    again = run(book, job("job-1"), now=NOW + 1)
    assert (selected(again), again.replayed) == ("b", False)
    reserve(book, again, "job-1", now=NOW + 1)
    lifecycle.release(book, "job-1", "failed", NOW + 2, OWNER)
    assert refused(run(book, job("job-1"), now=NOW + 2)) == "AllCandidatesDeclined"
    assert book.jobs["job-1"].declined_by == ["a", "b"]
    assert selected(run(book, job("job-2"), now=NOW + 2)) == "a"  # other jobs still go to them


def test_a_receipt_names_the_miner_the_job_was_routed_to():
    book = make_book({"hotkey": "a"}, {"hotkey": "b"})
    route(book)
    assert refused(receipt(book, "declined", hotkey="b")) == "ReceiptMismatch"


def test_a_lapsed_job_routed_again_elsewhere_holds_no_phantom_slot_on_its_first_miner():
    book = make_book({"hotkey": "a", "online": 1, "remaining": 1000.0}, {"hotkey": "b", "online": 1, "remaining": 500.0})
    assert route(book) == "a"
    later = NOW + 11  # lapsed; a is blacklisted meanwhile, so the same uuid goes to b
    book.set_blacklist(BlacklistEntry("a", "maintenance", later, later + 5))
    assert route(book, now=later) == "b"
    after = later + 6  # a is back
    assert miner_status(book, "a", after, BLOCK).free_slots == {CLASS: 1}
    assert miner_status(book, "b", after, BLOCK).free_slots == {CLASS: 0}
    assert selected(run(book, job("job-2"), now=after)) == "a"


@pytest.mark.parametrize(
    "hold, remaining, booked",
    [
        (True, 121.0, 3),  # 121 > 40, 81 > 40, 41 > 40, then 1 s is left
        (True, 40.0, 0),  # the allowance filter is strict
        (False, 121.0, 5),  # the original's check-only routing: every pick sees 121 s
    ],
)
def test_picks_hold_allowance_until_the_job_starts_or_ends(hold, remaining, booked):
    book = make_book({"hotkey": "a", "online": 5, "remaining": remaining}, DYNAMIC_HOLD_ALLOWANCE_WHILE_ROUTING=hold)
    outcomes = []
    for n in range(5):
        outcomes.append(run(book, job(f"job-{n}")))
        if not isinstance(outcomes[-1], Refusal):
            reserve(book, outcomes[-1], f"job-{n}")
    assert sum(not isinstance(o, Refusal) for o in outcomes) == booked
    assert all(refused(o) == "NoMinerWithEnoughAllowance" for o in outcomes[booked:])


def test_a_start_turns_the_hold_into_the_deduction_and_a_lapse_returns_it():
    book = make_book({"hotkey": "a", "online": 5, "remaining": 1000.0})
    route(book, "started")
    route(book, "lapses")
    row = book.allowance_rows(BLOCK)["a"]
    assert (row.remaining, book.allowance_left(row, NOW)) == (1000.0, 920.0)
    receipt(book, "started", uuid="started")
    assert (row.remaining, book.allowance_left(row, NOW)) == (960.0, 920.0)
    assert book.allowance_left(row, NOW + 11) == 960.0  # the other reservation lapsed: its hold is back


OTHER = AuditStamp("validator-2", "service", "corr-other")
ADMIN = AuditStamp("ops", "admin", "corr-ops")


@pytest.mark.parametrize("reason", ["declined", "failed", "timeout", "cancelled"])
def test_only_the_owner_or_an_admin_may_release_a_job(reason):
    book = make_book({"hotkey": "a", "online": 1})
    route(book)
    refused_release = lifecycle.release(book, "job-1", reason, NOW + 1, OTHER)
    assert refused_release.kind.value == "NotJobOwner"
    assert book.incidents == {} and job_view(book, book.jobs["job-1"], NOW + 1).state == "reserved"
    assert lifecycle.release(book, "job-1", reason, NOW + 1, ADMIN).answer.state in ("released", "declined", "failed")


def test_another_caller_may_not_route_a_uuid_that_is_not_theirs():
    book = make_book({"hotkey": "a", "online": 2})
    route(book)
    assert refused(run(book, job("job-1", caller=OTHER.subject))) == "NotJobOwner"  # no replay for them
    assert run(book, job("job-1")).replayed  # the owner's replay
    assert selected(run(book, replace(job("job-1", caller="ops"), caller_is_admin=True))) == "a"
