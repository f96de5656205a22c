"""The miner book: slots held by reservations and receipts, allowance deduction, reload, the miners view."""

from contracts.chain import ChainReport
from contracts.jobs import Allowance, BlacklistEntry, Manifest, Receipt
from organism.jobs.documents import load_book, write
from organism.jobs.records import Reservation, RoutedJob
from organism.jobs.views import miners_page
from organism.state.store import InMemoryStore

from .scenario import BLOCK, CLASS, NOW, job, make_book, refused, reserve, run, selected


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


def test_book_reloads_from_its_documents():
    store = InMemoryStore()
    book = make_book({"hotkey": "a", "online": 1}, DEBUG_MINER_KEY=None, DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI=7)
    writes = [book.upsert_miner(book.miners["a"]), book.set_config(book.config), book.set_chain(ChainReport(25, NOW))]
    writes.append(book.add_manifests([Manifest("a", CLASS, 1, 4, NOW - 1, 0)]))
    writes.append(book.upsert_allowances(book.allowance_rows(BLOCK).values()))
    writes.append(book.set_blacklist(BlacklistEntry("a", "temp", NOW, NOW + 5)))
    writes.append(book.reserve(Reservation("j", "a", CLASS, NOW, NOW + 10), RoutedJob("j", "a", CLASS, 40, 94, "selected"), None))
    writes.append(book.record_receipt(Receipt("finished", "k", "a", CLASS, NOW, 1.0), BLOCK))
    for changed in writes:
        with store.transaction() as tx:
            write(tx, changed)

    reloaded = load_book(store)
    assert reloaded.miners == book.miners and reloaded.blacklist == book.blacklist
    assert reloaded.manifests[CLASS]["a"].recency == book.manifests[CLASS]["a"].recency
    assert reloaded.config == book.config and reloaded.chain == book.chain
    assert reloaded.reservations == book.reservations and reloaded.jobs == book.jobs
    assert set(reloaded.finished) == {"k"} and reloaded.arrivals == book.arrivals
    assert reloaded.ongoing_jobs("a", CLASS, NOW) == 1


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


def test_statuses_show_each_miners_facts_and_free_slots():
    book = make_book({"hotkey": "a", "online": 2}, {"hotkey": "b", "online": None, "remaining": None})
    reserve(book, run(book), "job-1")
    book.set_blacklist(BlacklistEntry("b", "gone", NOW - 10, NOW - 1))  # lapsed: not shown
    a, b = miners_page(book, NOW, BLOCK, limit=10)[0]
    assert (a.miner.hotkey, a.ongoing_jobs, a.free_slots, a.allowance.remaining) == ("a", {CLASS: 1}, {CLASS: 1}, 1000.0)
    assert (b.miner.hotkey, b.manifests, b.allowance, b.blacklist) == ("b", {}, None, None)
    assert miners_page(book, NOW, None, limit=10)[0][0].allowance is None  # no block, no current cycle


def test_the_rows_of_a_block_follow_every_change_of_the_rows():
    book = make_book({"hotkey": "a", "remaining": 10.0})
    assert book.allowance_rows(BLOCK)["a"].remaining == 10.0  # built once for the block
    book.upsert_allowances([Allowance("a", -14, 708, 1000.0, 20.0), Allowance("b", -14, 708, 1000.0, 30.0)])
    assert {h: r.remaining for h, r in book.allowance_rows(BLOCK).items()} == {"a": 20.0, "b": 30.0}
    book.forget_cycles_before(708)
    assert book.allowance_rows(BLOCK) == {}
