"""The selection policy: precedence of its steps, which refusal each stage gives, ordering, explain."""

from dataclasses import replace

import pytest

from contracts.chain import ChainReport
from contracts.jobs import Allowance, BlacklistEntry, Receipt
from organism.jobs import lifecycle
from organism.jobs.book import MinerBook
from organism.jobs.candidate_index import CandidateIndex
from organism.jobs.filters import MANIFEST_MAX_AGE_S
from organism.jobs.policy import pick, required_seconds
from organism.jobs.report import COMPACT_TOP_K

from .scenario import BLOCK, ETH, NETUID, NOW, OWNER, job, make_book, refused, reserve, run, selected


def reported(book: MinerBook, age_s: float) -> MinerBook:
    book.set_chain(ChainReport(BLOCK, NOW - age_s))
    return book


def finished(book: MinerBook, uuid: str) -> MinerBook:
    reserve(book, run(book, job(uuid)), uuid)
    book.record_receipt(Receipt("finished", uuid, "a", "always_on.test", NOW, 100.0), BLOCK)
    return book


@pytest.mark.parametrize(
    "case, book, spec, block, expected",  # expected: ("selected", hotkey) or ("refused", kind)
    [
        ("a finished job is refused before anything else",
         finished(make_book({"hotkey": "a"}, DEBUG_MINER_KEY="a"), "job-1"), job("job-1"), BLOCK, ("refused", "JobAlreadyFinished")),
        ("debug miner beats trusted and every check",
         make_book({"hotkey": "dbg", "online": 0, "collateral": 0}, DEBUG_MINER_KEY="dbg", TRUSTED_MINER_HOTKEY="t"),
         job(trusted=True), None, ("selected", "dbg")),
        ("trusted miner bypasses every check", make_book(TRUSTED_MINER_HOTKEY="t"), job(trusted=True), None, ("selected", "t")),
        ("trusted without one configured", make_book({"hotkey": "a"}), job(trusted=True), BLOCK, ("refused", "NoTrustedMiner")),
        ("the block must be known after the overrides", make_book({"hotkey": "a"}), job(), None, ("refused", "CurrentBlockUnknown")),
        ("an unconfigured executor class, before the overrides", make_book({"hotkey": "a"}, DEBUG_MINER_KEY="a"),
         replace(job(), executor_class="custom.class"), BLOCK, ("refused", "ValidationError")),
        ("a block report older than the limit", reported(make_book({"hotkey": "a"}), 121), job(), BLOCK,
         ("refused", "CurrentBlockStale")),
        ("a block report within the limit", reported(make_book({"hotkey": "a"}), 120), job(), BLOCK, ("selected", "a")),
        ("no limit on the block report's age", reported(make_book({"hotkey": "a"}, DYNAMIC_MAX_BLOCK_REPORT_AGE_SECONDS=0), 10**6),
         job(), BLOCK, ("selected", "a")),
        ("the overrides do not need the block", reported(make_book(TRUSTED_MINER_HOTKEY="t"), 10**6), job(trusted=True), BLOCK,
         ("selected", "t")),
        ("no miner at all", make_book(), job(), BLOCK, ("refused", "NoMinerForExecutorType")),
        ("a stale manifest: no miner for the type",
         make_book({"hotkey": "a", "observed_at": NOW - MANIFEST_MAX_AGE_S - 1}), job(), BLOCK, ("refused", "NoMinerForExecutorType")),
        ("candidates without allowance", make_book({"hotkey": "a", "remaining": 40.0}), job(), BLOCK,
         ("refused", "NoMinerWithEnoughAllowance")),
        ("every candidate below the collateral minimum", make_book({"hotkey": "a", "collateral": 1}), job(), BLOCK,
         ("refused", "NotEnoughCollateral")),
        ("an eligible miner is selected", make_book({"hotkey": "a"}), job(), BLOCK, ("selected", "a")),
    ],
)
def test_precedence(case, book, spec, block, expected):
    outcome = run(book, spec, block=block)
    verdict, value = expected
    assert (selected(outcome) if verdict == "selected" else refused(outcome)) == value


def test_executor_classes_and_their_spin_up_come_from_the_dynamic_config():
    classes = {"custom.class": 60, "always_on.test": 3}
    book = make_book({"hotkey": "a"}, EXECUTOR_CLASSES=classes)
    custom = replace(job(), executor_class="custom.class")
    assert required_seconds(custom, book.config) - required_seconds(job(), book.config) == 57
    refusal = run(make_book({"hotkey": "a"}, EXECUTOR_CLASSES={"always_on.test": 3}), replace(job(), executor_class="always_on.gpu-24gb"))
    assert refused(refusal) == "ValidationError" and refusal.details[0]["field"] == "executor_class"


def test_overrides_reserve_nothing():
    debug = run(make_book({"hotkey": "dbg"}, DEBUG_MINER_KEY="dbg"))
    trusted = run(make_book(TRUSTED_MINER_HOTKEY="t"), job(trusted=True))
    assert (debug.reason, debug.reserve, trusted.reason, trusted.reserve) == ("debug_miner", False, "trusted_miner", False)


def test_only_the_allowance_of_the_current_blocks_cycle_counts():
    book = make_book({"hotkey": "a", "remaining": None})
    book.upsert_allowances([Allowance("a", 708, 1430, 1000, 1000)])
    assert refused(run(book)) == "NoMinerWithEnoughAllowance"
    assert selected(run(book, block=800)) == "a"


def test_time_in_cycle_is_checked_only_when_cross_cycle_jobs_are_not_allowed():
    spec = job(execution_time_limit=10_000)
    assert selected(run(make_book({"hotkey": "a", "remaining": 1e9}), spec)) == "a"
    outcome = run(make_book({"hotkey": "a", "remaining": 1e9}, DYNAMIC_ALLOW_CROSS_CYCLE_ORGANIC_JOBS=False), spec)
    assert refused(outcome) == "NotEnoughTimeInCycle"
    assert outcome.details == {"remaining_seconds": 8196, "required_seconds": 5 + 7 + 5 + 3 + 10_020}


def test_time_check_equal_passes_and_runs_before_the_manifest_check():
    book = make_book({"hotkey": "a", "remaining": 1e9}, DYNAMIC_ALLOW_CROSS_CYCLE_ORGANIC_JOBS=False)
    exact = job(execution_time_limit=8196 - (5 + 7 + 5 + 3) - 20)
    assert required_seconds(exact, book.config) == 8196
    assert selected(run(book, exact)) == "a"
    longer = job(execution_time_limit=exact.execution_time_limit + 1)
    assert refused(run(MinerBook(config=book.config), longer)) == "NotEnoughTimeInCycle"


def test_busy_and_collateral_mixed_is_all_miners_busy():
    book = make_book({"hotkey": "poor", "collateral": 1}, {"hotkey": "busy", "online": 1})
    reserve(book, run(book), "other-job")  # poor fails collateral, busy gets booked
    outcome = run(book, job("job-2"))
    assert refused(outcome) == "AllMinersBusy"
    assert (outcome.explain.rejected["collateral"], outcome.explain.rejected["free_slot"]) == (1, 1)
    assert outcome.details == {"busy": 1, "collateral": 1}


def test_highest_remaining_ratio_first_then_higher_collateral():
    book = make_book(
        {"hotkey": "half", "remaining": 500.0, "initial": 1000.0},
        {"hotkey": "most", "remaining": 900.0, "initial": 1000.0},
        {"hotkey": "most-rich", "remaining": 90.0, "initial": 100.0, "collateral": 5 * ETH},
    )
    outcome = run(book)
    assert selected(outcome) == "most-rich"
    assert outcome.explain.ranking == ["most-rich", "most", "half"]


def test_negative_allowance_ranks_last_and_zero_initial_counts_as_zero():
    book = make_book(
        {"hotkey": "negative", "remaining": -100.0, "initial": 1000.0},
        {"hotkey": "zero-initial", "remaining": 50.0, "initial": 0.0},
        DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING=False,
    )
    assert run(book).explain.ranking == ["zero-initial", "negative"]


def test_explain_counts_each_filter_by_name_and_says_why_for_each_miner():
    book = make_book(
        {"hotkey": "ok"},
        {"hotkey": "stale", "observed_at": NOW - MANIFEST_MAX_AGE_S - 5},
        {"hotkey": "offline", "online": 0},
        {"hotkey": "no-manifest", "online": None},
        {"hotkey": "poor", "remaining": 1.0},
        {"hotkey": "banned"},
    )
    book.set_blacklist(BlacklistEntry("banned", "x", NOW, None))
    explain = run(book).explain
    assert explain.miners == 6 and explain.candidates == 1
    assert explain.rejected == {
        "not_blacklisted": 1,
        "fresh_manifest": 2,
        "online_executors": 1,
        "allowance": 1,
        "not_declined": 0,
        "collateral": 0,
        "free_slot": 0,
    }
    assert explain.reasons["banned"] == "not_blacklisted: blacklisted (x)"
    assert explain.reasons["poor"].startswith("allowance: ")
    assert set(explain.as_dict(with_ranking=False)) == {"miners", "candidates", "rejected", "cycle_seconds_left", "required_seconds"}
    assert explain.as_dict(with_ranking=True)["ranking"] == ["ok"]


def test_a_pick_does_not_change_the_book():
    book = make_book({"hotkey": "a"})
    before = (dict(book.reservations), dict(book.jobs))
    run(book)
    assert (book.reservations, book.jobs) == before


# --- the walk past miners the book knows busy (a class of 40 one-slot miners, the best 25 booked) -----------
MINERS, BOOKED = 40, 25


def busy_class() -> tuple[MinerBook, CandidateIndex]:
    """m00 ranks first; a booking's hold (40 s) moves no miner in the ranking (100 s between neighbours)."""
    book = make_book(*({"hotkey": f"m{i:02d}", "initial": 10_000.0, "remaining": 10_000.0 - 100 * i} for i in range(MINERS)))
    index = CandidateIndex()
    for n in range(BOOKED):  # each pick walks past the ones before it: the book learns they are full
        reserve(book, pick(book, job(f"fill-{n}"), BLOCK, NETUID, NOW, index), f"fill-{n}")
    return book, index


def declined_by_a_busy_miner(book: MinerBook, index: CandidateIndex) -> str:
    book.config = book.config.model_copy(update={"DYNAMIC_DEMOTE_MINERS_WITH_INCIDENTS": False})  # m25 keeps its rank
    reserve(book, pick(book, job("again"), BLOCK, NETUID, NOW, index), "again")  # on m25
    lifecycle.release(book, "again", "declined", NOW, OWNER)
    reserve(book, pick(book, job("fill-m25"), BLOCK, NETUID, NOW, index), "fill-m25")  # m25 busy again
    reserve(book, pick(book, job("fill-m26"), BLOCK, NETUID, NOW, index), "fill-m26")  # walks past m25: known busy
    return "again"


def collateral_raised_above_busy_ones(book: MinerBook, index: CandidateIndex) -> str:
    for hotkey in ("m12", "m13"):
        book.upsert_miner(replace(book.miners[hotkey], collateral_wei=ETH // 10))
    book.config = book.config.model_copy(update={"DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI": ETH // 2})
    return "new"


def every_miner_booked(book: MinerBook, index: CandidateIndex) -> str:
    for n in range(BOOKED, MINERS):
        reserve(book, pick(book, job(f"fill-{n}"), BLOCK, NETUID, NOW, index), f"fill-{n}")
    return "new"


@pytest.mark.parametrize(
    "case, setup, expected, slot_rejections",
    [
        ("a new job", lambda book, index: "new", ("selected", "m25"), {"free_slot": 25}),
        ("a job a busy miner declined", declined_by_a_busy_miner, ("selected", "m27"), {"free_slot": 26, "not_declined": 1}),
        ("collateral raised above two busy miners", collateral_raised_above_busy_ones, ("selected", "m25"),
         {"free_slot": 23, "collateral": 2}),
        ("every miner booked", every_miner_booked, ("refused", "AllMinersBusy"), {"free_slot": 40}),
    ],
)
def test_a_pick_past_known_busy_miners_counts_them_as_the_reference_walk_does(case, setup, expected, slot_rejections):
    book, index = busy_class()
    spec = job(setup(book, index))
    asked: list[str] = []
    has_free_slot = book.has_free_slot
    book.has_free_slot = lambda hotkey, *rest: asked.append(hotkey) or has_free_slot(hotkey, *rest)
    fast = pick(book, spec, BLOCK, NETUID, NOW, index)
    asked_by_fast = len(asked)
    reference = pick(book, spec, BLOCK, NETUID, NOW)  # every filter over every miner
    for outcome in (fast, reference):
        assert (selected(outcome) if expected[0] == "selected" else refused(outcome)) == expected[1]
        counted = {name: outcome.explain.rejected[name] for name in ("not_declined", "collateral", "free_slot")}
        assert {name: n for name, n in counted.items() if n} == slot_rejections
    assert fast.explain.walked == reference.explain.walked
    assert asked_by_fast <= MINERS - BOOKED + COMPACT_TOP_K  # past the report's top, the known-busy were not asked again
