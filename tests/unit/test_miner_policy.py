"""The selection policy, step by step and boundary by boundary (no Ray, no I/O)."""

import pytest

from organism.jobs.book import Allowance, BlacklistEntry, Manifest, Miner, MinerBook, Receipt, Reservation, RoutedJob
from organism.jobs.chain import ChainReport, cycle_containing
from organism.jobs.dynamic_config import DynamicConfig
from organism.jobs.policy import MANIFEST_MAX_AGE_S, JobSpec, Refusal, Selection, pick, required_seconds
from organism.store import InMemoryStore

NOW = 1_000_000.0
NETUID = 12
BLOCK = 25  # cycle [-14, 708): (708 - 25) * 12 = 8196 s left
CLASS = "always_on.test"
ETH = 10**18


def make_book(*miners: dict, **config) -> MinerBook:
    """Each miner: hotkey, collateral, online, remaining, initial (defaults: eligible, idle)."""
    book = MinerBook(config=DynamicConfig(**config))
    for spec in miners:
        hotkey = spec["hotkey"]
        book.upsert_miner(Miner(hotkey, "10.0.0.1", 8000, 4, spec.get("collateral", ETH)))
        if spec.get("online", 1) is not None:
            book.add_manifests([Manifest(hotkey, CLASS, spec.get("online", 1), 4, spec.get("observed_at", NOW - 60), 0)])
        if spec.get("remaining", 1000.0) is not None:
            book.upsert_allowances([Allowance(hotkey, -14, 708, spec.get("initial", 1000.0), spec.get("remaining", 1000.0))])
    return book


def job(uuid: str = "job-1", trusted: bool = False, **limits) -> JobSpec:
    times = {"download_time_limit": 10, "execution_time_limit": 20, "upload_time_limit": 10, **limits}
    return JobSpec(uuid, CLASS, streaming_start_time_limit=99, on_trusted_miner=trusted, **times)


def run(book: MinerBook, spec: JobSpec | None = None, now: float = NOW, block: int | None = BLOCK):
    return pick(book, spec or job(), block, NETUID, now)


def refused(outcome) -> str:
    assert isinstance(outcome, Refusal), outcome
    return outcome.error_type


def selected(outcome) -> str:
    assert isinstance(outcome, Selection), outcome
    return outcome.hotkey


def reserve(book: MinerBook, outcome: Selection, uuid: str, now: float = NOW) -> None:
    expires = now + book.config.DYNAMIC_ROUTING_PRELIMINARY_RESERVATION_TIME_SECONDS
    routed = RoutedJob(uuid, outcome.hotkey, CLASS, 40, 94, "selected", routed_at=now)
    book.reserve(Reservation(uuid, outcome.hotkey, CLASS, now, expires), routed)


# --- cycle arithmetic against the reference values ---------------------------------------
@pytest.mark.parametrize(
    "block, start, stop", [(25, -14, 708), (708, 708, 1430), (707, -14, 708), (1429, 708, 1430), (-14, -14, 708)]
)
def test_cycle_reference_values(block, start, stop):
    cycle = cycle_containing(block, 12)
    assert (cycle.start, cycle.stop) == (start, stop)


def test_last_block_of_a_cycle_leaves_twelve_seconds():
    assert cycle_containing(1429, 12).seconds_left(1429) == 12


def test_reported_block_advances_every_twelve_seconds():
    report = ChainReport(100, NOW)
    assert [report.current_block(NOW + s) for s in (0, 11.9, 12, 25, -5)] == [100, 100, 101, 102, 100]


# --- each refusal -----------------------------------------------------------------------------
def test_no_miner_at_all():
    assert refused(run(make_book())) == "NoMinerForExecutorType"


def test_stale_manifest_excludes_and_exact_four_hours_passes():
    assert refused(run(make_book({"hotkey": "a", "observed_at": NOW - MANIFEST_MAX_AGE_S - 1}))) == "NoMinerForExecutorType"
    assert selected(run(make_book({"hotkey": "a", "observed_at": NOW - MANIFEST_MAX_AGE_S}))) == "a"


def test_newest_manifest_of_zero_excludes_even_after_a_positive_one():
    book = make_book({"hotkey": "a", "online": 2})
    book.add_manifests([Manifest("a", CLASS, 0, 4, NOW - 1, 0)])
    outcome = run(book)
    assert refused(outcome) == "NoMinerForExecutorType"
    assert outcome.explain.rejected["no_online_executors"] == 1


def test_an_older_manifest_arriving_late_does_not_replace_the_newest():
    book = make_book({"hotkey": "a", "online": 0, "observed_at": NOW - 10})
    book.add_manifests([Manifest("a", CLASS, 3, 4, NOW - 100, 0)])
    assert refused(run(book)) == "NoMinerForExecutorType"


def test_equal_observed_at_is_ordered_by_arrival():
    book = make_book({"hotkey": "a", "online": 0, "observed_at": NOW - 10})
    book.add_manifests([Manifest("a", CLASS, 2, 4, NOW - 10, 0)])
    assert selected(run(book)) == "a"


def test_blacklisted_permanent_and_expired():
    book = make_book({"hotkey": "a"})
    book.set_blacklist(BlacklistEntry("a", "cheating", NOW - 100, None))
    outcome = run(book)
    assert refused(outcome) == "NoMinerForExecutorType" and outcome.explain.rejected["blacklisted"] == 1
    book.set_blacklist(BlacklistEntry("a", "flaky", NOW - 100, NOW - 1))
    assert selected(run(book)) == "a"
    book.set_blacklist(BlacklistEntry("a", "flaky", NOW - 100, NOW + 1))
    assert refused(run(book)) == "NoMinerForExecutorType"


def test_time_in_cycle_checked_only_when_cross_cycle_jobs_are_not_allowed():
    spec = job(execution_time_limit=10_000)
    assert selected(run(make_book({"hotkey": "a", "remaining": 1e9}), spec)) == "a"
    outcome = run(make_book({"hotkey": "a", "remaining": 1e9}, DYNAMIC_ALLOW_CROSS_CYCLE_ORGANIC_JOBS=False), spec)
    assert refused(outcome) == "NotEnoughTimeInCycle"
    required = 5 + 7 + 5 + 3 + 10_020
    assert outcome.details == {"remaining_seconds": 8196, "required_seconds": required}


def test_time_check_equal_passes_and_runs_before_the_manifest_check():
    book = make_book({"hotkey": "a", "remaining": 1e9}, DYNAMIC_ALLOW_CROSS_CYCLE_ORGANIC_JOBS=False)
    exact = job(execution_time_limit=8196 - (5 + 7 + 5 + 3) - 20)
    assert required_seconds(exact, book) == 8196
    assert selected(run(book, exact)) == "a"
    longer = job(execution_time_limit=exact.execution_time_limit + 1)
    assert refused(run(MinerBook(config=book.config), longer)) == "NotEnoughTimeInCycle"


def test_allowance_is_strictly_greater_than_executor_seconds():
    assert refused(run(make_book({"hotkey": "a", "remaining": 40.0}))) == "NoMinerWithEnoughAllowance"
    assert selected(run(make_book({"hotkey": "a", "remaining": 40.5}))) == "a"


def test_allowance_check_off_keeps_low_rows_but_not_missing_rows():
    low = make_book({"hotkey": "a", "remaining": -5.0}, DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING=False)
    assert selected(run(low)) == "a"
    missing = make_book({"hotkey": "a", "remaining": None}, DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING=False)
    assert refused(run(missing)) == "NoMinerWithEnoughAllowance"


def test_allowance_of_another_cycle_does_not_count():
    book = make_book({"hotkey": "a", "remaining": None})
    book.upsert_allowances([Allowance("a", 708, 1430, 1000, 1000)])
    assert refused(run(book)) == "NoMinerWithEnoughAllowance"
    assert selected(run(book, block=800)) == "a"


def test_collateral_equal_passes_below_fails_and_zero_minimum_disables():
    minimum = 10**16
    assert selected(run(make_book({"hotkey": "a", "collateral": minimum}))) == "a"
    outcome = run(make_book({"hotkey": "a", "collateral": minimum - 1}))
    assert refused(outcome) == "NotEnoughCollateral" and outcome.explain.rejected["collateral"] == 1
    assert selected(run(make_book({"hotkey": "a", "collateral": 0}, DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI=0))) == "a"


def test_busy_and_collateral_mixed_is_all_miners_busy():
    book = make_book({"hotkey": "poor", "collateral": 1}, {"hotkey": "busy", "online": 1})
    reserve(book, run(book), "other-job")  # poor fails collateral, busy gets booked
    outcome = run(book, job("job-2"))
    assert refused(outcome) == "AllMinersBusy"
    assert (outcome.explain.rejected["collateral"], outcome.explain.rejected["busy"]) == (1, 1)


def test_trusted_without_configuration_is_refused():
    assert refused(run(make_book({"hotkey": "a"}), job(trusted=True))) == "NoTrustedMiner"


def test_unknown_block_is_refused_after_the_overrides():
    assert refused(run(make_book({"hotkey": "a"}), block=None)) == "CurrentBlockUnknown"
    assert run(make_book({"hotkey": "a"}, DEBUG_MINER_KEY="a"), block=None).reason == "debug_miner"


# --- overrides ------------------------------------------------------------------------------
def test_debug_miner_bypasses_everything_and_beats_trusted():
    book = make_book({"hotkey": "dbg", "online": 0, "collateral": 0}, DEBUG_MINER_KEY="dbg", TRUSTED_MINER_HOTKEY="t")
    outcome = run(book, job(trusted=True))
    assert (selected(outcome), outcome.reason, outcome.reserve) == ("dbg", "debug_miner", False)


def test_trusted_miner_bypasses_checks_without_reservation():
    outcome = run(make_book(TRUSTED_MINER_HOTKEY="t"), job(trusted=True))
    assert (selected(outcome), outcome.reason, outcome.reserve) == ("t", "trusted_miner", False)


# --- ordering ----------------------------------------------------------------------------------
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


# --- slots: reservations, receipts ------------------------------------------------------------
def test_reservation_holds_a_slot_until_it_expires():
    book = make_book({"hotkey": "a", "online": 1})
    reserve(book, run(book), "job-1")
    assert refused(run(book, job("job-2"))) == "AllMinersBusy"
    assert selected(run(book, job("job-2"), now=NOW + 10)) == "a"  # expires_at = NOW + 10


def test_a_second_slot_takes_a_second_job():
    book = make_book({"hotkey": "a", "online": 2})
    reserve(book, run(book), "job-1")
    assert selected(run(book, job("job-2"))) == "a"


def test_replay_of_a_booked_uuid_returns_the_same_miner_without_booking():
    book = make_book({"hotkey": "a", "online": 1})
    reserve(book, run(book), "job-1")
    replay = run(book, job("job-1"))
    assert (selected(replay), replay.replayed, replay.reserve) == ("a", True, False)


def test_started_receipt_holds_the_slot_for_its_ttl_and_releases_the_reservation():
    book = make_book({"hotkey": "a", "online": 1})
    reserve(book, run(book), "job-1")
    book.record_receipt(Receipt("started", "job-1", "a", CLASS, NOW, 100.0), BLOCK)
    assert "job-1" not in book.reservations
    assert refused(run(book, job("job-2"), now=NOW + 50)) == "AllMinersBusy"
    assert selected(run(book, job("job-2"), now=NOW + 100)) == "a"  # ttl lapsed


def test_finished_receipt_frees_the_slot():
    book = make_book({"hotkey": "a", "online": 1})
    book.record_receipt(Receipt("started", "ext-1", "a", CLASS, NOW, 1000.0), BLOCK)
    assert refused(run(book)) == "AllMinersBusy"
    book.record_receipt(Receipt("finished", "ext-1", "a", CLASS, NOW, 1000.0), BLOCK)
    assert selected(run(book)) == "a"


def test_started_receipt_deducts_a_routed_jobs_executor_seconds_once():
    book = make_book({"hotkey": "a", "online": 2, "remaining": 1000.0})
    reserve(book, run(book), "job-1")
    for _ in range(2):
        book.record_receipt(Receipt("started", "job-1", "a", CLASS, NOW, 100.0), BLOCK)
    assert book.allowance_rows(BLOCK)["a"].remaining == 960.0
    book.record_receipt(Receipt("started", "unrouted", "a", CLASS, NOW, 100.0), BLOCK)
    assert book.allowance_rows(BLOCK)["a"].remaining == 960.0


# --- explain and persistence ------------------------------------------------------------------
def test_explain_counts_each_reason():
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
        "stale_or_missing_manifest": 2,
        "no_online_executors": 1,
        "blacklisted": 1,
        "allowance": 1,
        "collateral": 0,
        "busy": 0,
    }


def test_book_reloads_from_its_documents():
    store = InMemoryStore()
    book = make_book({"hotkey": "a", "online": 1}, DEBUG_MINER_KEY=None, DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI=7)
    writes = [book.upsert_miner(book.miners["a"]), book.set_config(book.config), book.set_chain(ChainReport(25, NOW))]
    writes.append(book.add_manifests([Manifest("a", CLASS, 1, 4, NOW - 1, 0)]))
    writes.append(book.upsert_allowances(book.allowance_rows(BLOCK).values()))
    writes.append(book.set_blacklist(BlacklistEntry("a", "temp", NOW, NOW + 5)))
    for puts in writes:
        store.write(puts)
    store.write(book.reserve(Reservation("j", "a", CLASS, NOW, NOW + 10), RoutedJob("j", "a", CLASS, 40, 94, "selected")))
    puts, deletes = book.record_receipt(Receipt("finished", "k", "a", CLASS, NOW, 1.0), BLOCK)
    store.write(puts, deletes)

    reloaded = MinerBook.load(store)
    assert reloaded.miners == book.miners and reloaded.blacklist == book.blacklist
    assert reloaded.manifests[CLASS]["a"].recency == book.manifests[CLASS]["a"].recency
    assert reloaded.config == book.config and reloaded.chain == book.chain
    assert reloaded.reservations == book.reservations and reloaded.jobs == book.jobs
    assert set(reloaded.finished) == {"k"} and reloaded.arrivals == book.arrivals
    assert reloaded.ongoing_jobs("a", CLASS, NOW) == 1


def test_prune_forgets_lapsed_bookings_and_keeps_live_ones():
    book = make_book({"hotkey": "a", "online": 100})
    for n in range(5):
        reserve(book, run(book, job(f"old-{n}")), f"old-{n}")
    later = NOW + 60
    reserve(book, run(book, job("live"), now=later), "live", now=later)
    book.record_receipt(Receipt("started", "running", "a", CLASS, later, 1000.0), BLOCK)
    deletes = book.prune(later)
    assert sorted(deletes) == [("reservations", f"old-{n}") for n in range(5)]
    assert book.jobs_by_slot[("a", CLASS)] == {"live", "running"}
    assert book.ongoing_jobs("a", CLASS, later) == 2
    assert set(book.reservations) == {"live"}


def test_a_finished_job_is_not_routed_again():
    book = make_book({"hotkey": "a", "online": 1})
    reserve(book, run(book), "job-1")
    book.record_receipt(Receipt("finished", "job-1", "a", CLASS, NOW, 100.0), BLOCK)
    assert refused(run(book, job("job-1"))) == "JobAlreadyFinished"
    assert selected(run(book, job("job-2"))) == "a"  # the slot is free for others


def test_rerouting_after_a_lapse_never_deducts_twice():
    book = make_book({"hotkey": "a", "online": 2, "remaining": 1000.0})
    reserve(book, run(book), "job-1")
    book.record_receipt(Receipt("started", "job-1", "a", CLASS, NOW, 1.0), BLOCK)
    later = NOW + 5  # the started receipt lapsed; the caller routes the same uuid again
    reserve(book, run(book, job("job-1"), now=later), "job-1", now=later)
    book.record_receipt(Receipt("started", "job-1", "a", CLASS, later, 100.0), BLOCK)
    assert book.allowance_rows(BLOCK)["a"].remaining == 960.0


def test_prune_forgets_jobs_and_receipts_after_the_retention():
    book = make_book({"hotkey": "a", "online": 10})
    book.reserve(Reservation("old", "a", CLASS, NOW, NOW + 10), RoutedJob("old", "a", CLASS, 40, 94, "selected", routed_at=NOW))
    book.record_receipt(Receipt("finished", "ext", "a", CLASS, NOW, 5.0), BLOCK)
    later = NOW + 200  # retention 100 s: "old" (routed at NOW) and "ext" (done at NOW + 5) are past it
    book.reserve(Reservation("new", "a", CLASS, later, later + 10), RoutedJob("new", "a", CLASS, 40, 94, "selected", routed_at=later))
    deletes = book.prune(later, retention_s=100)
    assert ("jobs", "old") in deletes and ("receipts", "finished|ext") in deletes
    assert set(book.jobs) == {"new"} and not book.finished
