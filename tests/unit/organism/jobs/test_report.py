"""A pick's routing report agrees with a recount: over many random pools of miners (seeded), the report the
fast path keeps is the one the reference path (every filter over every miner) gives, and each listed miner's
verdicts are what its filters say when run on it alone; the compact rule and who may read a report, as tables."""

import random

import pytest

from contracts.audit import AuditStamp
from contracts.dynamic_config import DynamicConfig
from contracts.jobs import Allowance, BlacklistEntry, JobRouted, Manifest, Miner
from contracts.refusals import Refusal, RefusalKind
from organism.jobs import lifecycle, report
from organism.jobs.answers import address_of
from organism.jobs.book import MinerBook
from organism.jobs.candidate_index import CandidateIndex
from organism.jobs.filters import CANDIDATE_FILTERS, SLOT_FILTERS, Candidate, PickContext, rank_key
from organism.jobs.policy import pick
from organism.jobs.records import Selection

from .scenario import BLOCK, CLASS, ETH, NETUID, NOW, OWNER, job, make_book, reserve

SIZES = (0, 1, 3, 10, 20, 21, 40, 150)  # up to 20 judged miners a report is full, over it compact


def random_pool(rng: random.Random, size: int) -> MinerBook:
    """Miners blacklisted or not, with fresh, stale or no manifests, busy or idle executors, allowance or
    none, collateral below or above the minimum; some of them declined the job `again` before."""
    book = MinerBook(config=DynamicConfig(DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI=rng.choice([0, ETH]),
                                          DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING=rng.random() < 0.8))
    for i in range(size):
        hotkey = f"m{i:03d}"
        book.upsert_miner(Miner(hotkey, "10.0.0.1", 8000, 4, rng.choice([ETH // 2, ETH, 2 * ETH])))
        if rng.random() < 0.9:
            book.add_manifests([Manifest(hotkey, CLASS, rng.randint(0, 3), 3, NOW - rng.choice([60, 60, 5 * 3600]), 0)])
        if rng.random() < 0.1:
            book.set_blacklist(BlacklistEntry(hotkey, rng.choice(["late", "<b>x</b>"]), NOW - 10, None))
        if rng.random() < 0.9:
            book.upsert_allowances([Allowance(hotkey, -14, 708, 1000.0, rng.uniform(-100, 2000))])
    index = CandidateIndex()
    for n in range(rng.randint(0, size)):  # bookings fill slots (and hold allowance)
        if isinstance(outcome := pick(book, job(f"busy-{n}"), BLOCK, NETUID, NOW, index), Selection):
            reserve(book, outcome, f"busy-{n}")
    for _ in range(rng.randint(0, 3)):  # `again` was routed and declined: those miners are passed over
        if isinstance(outcome := pick(book, job("again"), BLOCK, NETUID, NOW, index), Selection):
            reserve(book, outcome, "again")
            lifecycle.release(book, "again", "declined", NOW, OWNER)
    return book


def answered(book: MinerBook, spec, outcome: Selection | Refusal) -> JobRouted | Refusal:
    if isinstance(outcome, Refusal):
        return outcome
    return JobRouted(spec.job_uuid, address_of(book, outcome.hotkey), outcome.reason, None, outcome.replayed, False,
                     outcome.explain)


def kept(book: MinerBook, spec, index: CandidateIndex | None) -> dict:
    outcome = answered(book, spec, pick(book, spec, BLOCK, NETUID, NOW, index))
    return report.build(spec, outcome, NOW, BLOCK, None, report.owner_of(book, spec)).as_dict()


def recount(book: MinerBook, spec, hotkey: str, walked: bool) -> list[dict]:
    """The miner's verdicts, each filter run on it alone, in order, up to the first that rejects it."""
    context = PickContext(book, spec, NOW, book.allowance_rows(BLOCK))
    candidate, verdicts = Candidate(book.manifests[CLASS][hotkey]), []
    for stage in (*CANDIDATE_FILTERS, *(SLOT_FILTERS if walked else ())):
        rejection = stage.check(candidate, context)
        verdicts.append({"filter": stage.name, "passed": rejection is None, "reason": rejection and rejection.reason})
        if rejection is not None:
            break
    return verdicts


@pytest.mark.parametrize("seed", range(15))
def test_the_report_a_pick_keeps_is_the_reference_paths_and_agrees_with_a_recount(seed):
    rng = random.Random(seed)
    for size in SIZES:
        book = random_pool(rng, size)
        spec = job(rng.choice(["again", "fresh"]))
        fast, reference = kept(book, spec, CandidateIndex()), kept(book, spec, None)
        assert fast == reference, (seed, size)
        judged = len(book.manifests.get(CLASS, {}))
        assert fast["judged"] == judged and fast["compact"] == (judged > report.FULL_REPORT_MAX_MINERS)
        assert fast["omitted"] == (judged - len(fast["candidates"]) if fast["compact"] else 0), (seed, size)
        ranked = [c for c in fast["candidates"] if c["rank"] is not None]
        context = PickContext(book, spec, NOW, book.allowance_rows(BLOCK))
        for candidate in ranked:
            hotkey = candidate["hotkey"]
            walked = len(candidate["verdicts"]) > len(CANDIDATE_FILTERS)
            assert candidate["verdicts"] == recount(book, spec, hotkey, walked), (seed, size, hotkey)
            key = rank_key(Candidate(book.manifests[CLASS][hotkey]), book.allowance_rows(BLOCK)[hotkey], context)
            assert list(candidate["scores"].values()) == list(key[:-1])
        walked = [c for c in ranked if len(c["verdicts"]) > len(CANDIDATE_FILTERS)]
        assert ranked[:len(walked)] == walked or fast["compact"]  # the slot filters ran down the ranking
        assert [c["rank"] for c in ranked] == sorted(c["rank"] for c in ranked)
        for candidate in fast["candidates"]:
            if candidate["rank"] is None:
                assert candidate["verdicts"] == recount(book, spec, candidate["hotkey"], False), (seed, size)
        if fast["outcome"]["kind"] == "selected":  # the last miner the slot filters ran on, passing all
            assert [c["hotkey"] for c in fast["candidates"] if c["chosen"]] == [walked[-1]["hotkey"]]
            assert all(v["passed"] for v in walked[-1]["verdicts"])


def test_a_compact_report_lists_the_top_of_the_ranking_and_the_chosen_miner_wherever_it_ranked():
    """101 miners, the best 30 of them busy (holding no allowance, so they keep their rank): the chosen one
    ranks 31st, below the top 10 a compact report keeps."""
    book = make_book(*({"hotkey": f"m{i:03d}", "remaining": 2000.0 - i} for i in range(101)),
                     DYNAMIC_HOLD_ALLOWANCE_WHILE_ROUTING=False)
    for n in range(30):
        reserve(book, pick(book, job(f"busy-{n}"), BLOCK, NETUID, NOW), f"busy-{n}")
    shown = kept(book, job("new"), CandidateIndex())
    assert shown["compact"] and shown["judged"] == 101 and shown["omitted"] == 101 - 11
    assert [(c["hotkey"], c["rank"], c["chosen"]) for c in shown["candidates"]] == [
        *((f"m{i:03d}", i, False) for i in range(10)), ("m030", 30, True)]
    assert shown["candidates"][0]["verdicts"][-1] == {"filter": "free_slot", "passed": False, "reason": "all 1 executors busy"}
    assert shown["rejected"]["free_slot"] == 30 and shown["outcome"]["kind"] == "selected"


@pytest.mark.parametrize("judged, compact", [(0, False), (20, False), (21, True), (5000, True)])
def test_a_report_is_full_up_to_20_judged_miners(judged, compact):
    assert (report.kept_in_report(judged) is not None) is compact


@pytest.mark.parametrize("outcome, kind", [
    (Refusal(RefusalKind.CURRENT_BLOCK_UNKNOWN, "no block reported yet"), "refused"),
    ("replayed", "replayed"),
    ("selected", "selected"),
])
def test_the_outcome_says_what_the_pick_did(outcome, kind):
    book = make_book({"hotkey": "a", "online": 2})
    reserve(book, pick(book, job("booked"), BLOCK, NETUID, NOW), "booked")
    spec = job("booked" if outcome == "replayed" else "new")
    answer = outcome if isinstance(outcome, Refusal) else answered(book, spec, pick(book, spec, BLOCK, NETUID, NOW))
    shown = report.build(spec, answer, NOW, BLOCK, 3, "validator").as_dict()
    assert shown["outcome"]["kind"] == kind
    assert shown["outcome"]["refusal"] == ({"type": "CurrentBlockUnknown", "message": "no block reported yet"}
                                           if kind == "refused" else None)
    assert shown["request"]["caller"] == OWNER.subject and shown["block"] == BLOCK and shown["outcome"]["slot"] == 3


READERS = [  # reader, whose reports exist, what the reader gets
    (AuditStamp("validator", "service", ""), ["validator"], ["validator"]),
    (AuditStamp("validator", "service", ""), ["validator", "other"], ["validator"]),
    (AuditStamp("intruder", "service", ""), ["validator"], RefusalKind.NOT_JOB_OWNER),
    (AuditStamp("ops", "admin", ""), ["validator", "other"], ["validator", "other"]),
    (AuditStamp("ops", "admin", ""), [], RefusalKind.UNKNOWN_JOB),
]


@pytest.mark.parametrize("reader, owners, sees", READERS)
def test_a_service_reads_its_own_jobs_reports_and_an_admin_every_one(reader, owners, sees):
    book = make_book({"hotkey": "a"})
    spec = job("j")
    reports = [report.build(spec, answered(book, spec, pick(book, spec, BLOCK, NETUID, NOW)), NOW, BLOCK, 0, owner)
               for owner in owners]
    readable = report.readable(reports, "j", reader)
    assert (readable.kind if isinstance(readable, Refusal) else [r.owner for r in readable]) == sees
