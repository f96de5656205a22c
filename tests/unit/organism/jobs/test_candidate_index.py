"""The candidate index agrees with the filters: any history of facts, time, picks (holding
allowance or not) and job endings (incidents that demote and blacklist) gives the same pick
and the same explain counts on the fast path as on the reference path."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.dynamic_config import DynamicConfig
from contracts.jobs import Allowance, BlacklistEntry, JobSpec, Manifest, Miner, Receipt
from contracts.refusals import Refusal
from organism.jobs.book import MinerBook
from organism.jobs.candidate_index import CandidateIndex
from organism.jobs.policy import pick
from organism.jobs.records import ENDINGS, Reservation, RoutedJob, Selection

from .scenario import ETH, NETUID, NOW, OWNER

CLASSES = ("always_on.test", "always_on.gpu-24gb")
CYCLES = ((-14, 708), (708, 1430))
HOTKEYS = [f"m{i}" for i in range(8)]


def verdict(outcome: Selection | Refusal) -> tuple:
    if isinstance(outcome, Selection):
        return ("selected", outcome.hotkey, outcome.reason, outcome.explain.candidates, outcome.explain.rejected)
    explain = outcome.explain
    return ("refused", outcome.kind, explain and explain.candidates, explain and explain.rejected)


@st.composite
def histories(draw):
    """A busy start (every miner registered, with a manifest and an allowance row), then changes."""
    steps = []
    for hotkey in HOTKEYS:
        steps += [("miner", hotkey, draw(st.sampled_from([10**16 - 1, ETH, 2 * ETH]))),
                  ("manifest", hotkey, draw(st.sampled_from(CLASSES)), draw(st.integers(0, 3)), draw(st.floats(0, 5 * 3600))),
                  ("allowance", hotkey, CYCLES[0], 1000.0, draw(st.floats(-500, 2000)))]
    for _ in range(draw(st.integers(1, 40))):
        hotkey = draw(st.sampled_from(HOTKEYS))
        executor_class = draw(st.sampled_from(CLASSES))
        steps.append(draw(st.one_of(
            st.tuples(st.just("miner"), st.just(hotkey), st.sampled_from([0, 10**16 - 1, ETH, 2 * ETH])),
            st.tuples(st.just("manifest"), st.just(hotkey), st.just(executor_class), st.integers(0, 3),
                      st.floats(0, 5 * 3600)),
            st.tuples(st.just("blacklist"), st.just(hotkey), st.one_of(st.none(), st.floats(-600, 7200))),
            st.tuples(st.just("lift"), st.just(hotkey)),
            st.tuples(st.just("allowance"), st.just(hotkey), st.sampled_from(CYCLES), st.floats(0, 2000),
                      st.floats(-500, 2000)),
            st.tuples(st.just("receipt"), st.just(hotkey), st.just(executor_class), st.sampled_from(["started", "finished"]),
                      st.floats(1, 600)),
            st.tuples(st.just("config"), st.booleans(), st.sampled_from([0, 10**16]), st.booleans(), st.booleans(),
                      st.sampled_from([0, 1, 2])),
            st.tuples(st.just("end"), st.integers(0, 50), st.sampled_from(["declined", "failed", "timeout", "cancelled"])),
            st.tuples(st.just("deregister"), st.just(hotkey)),
            st.tuples(st.just("wait"), st.floats(0, 3 * 3600)),
            st.tuples(st.just("pick"), st.sampled_from(CLASSES), st.integers(0, 900), st.sampled_from([25, 800])),
        )))
    return steps


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_fast_and_reference_picks_agree(history):
    book, index, now, jobs = MinerBook(config=DynamicConfig()), CandidateIndex(), NOW, 0
    for step in history:
        kind, *args = step
        if kind == "miner":
            book.upsert_miner(Miner(args[0], "10.0.0.1", 8000, 4, args[1]))
        elif args and args[0] not in book.miners and kind not in ("config", "wait", "pick", "end"):
            continue  # facts need a registered miner, as the picker enforces
        elif kind == "manifest":
            book.add_manifests([Manifest(args[0], args[1], args[2], 3, now - args[3], 0)])
        elif kind == "blacklist":
            book.set_blacklist(BlacklistEntry(args[0], "x", now, None if args[1] is None else now + args[1]))
        elif kind == "lift":
            book.lift_blacklist(args[0])
        elif kind == "allowance":
            book.upsert_allowances([Allowance(args[0], *args[1], args[2], args[3])])
        elif kind == "receipt":
            jobs += 1
            book.record_receipt(Receipt(args[2], f"ext-{jobs}", args[0], args[1], now, args[3]), 25)
        elif kind == "config":
            book.set_config(DynamicConfig(
                DYNAMIC_CHECK_ALLOWANCE_WHILE_ROUTING=args[0], DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI=args[1],
                DYNAMIC_HOLD_ALLOWANCE_WHILE_ROUTING=args[2], DYNAMIC_DEMOTE_MINERS_WITH_INCIDENTS=args[3],
                DYNAMIC_INCIDENTS_TO_BLACKLIST=args[4], DYNAMIC_INCIDENT_WINDOW_SECONDS=600,
            ))
        elif kind == "end":
            booked = sorted(book.jobs)
            if booked:
                routed = book.jobs[booked[args[0] % len(booked)]]
                state, incident = ENDINGS[args[1]]
                book.end_job(routed.job_uuid, state, now, args[1], incident, (routed.hotkey, routed.executor_class), OWNER)
        elif kind == "deregister":
            book.deregister(args[0])
        elif kind == "wait":
            now += args[0]
        elif kind == "pick":
            jobs += 1
            job = JobSpec(f"job-{jobs}", args[0], 1, args[1], 1, 0, False)
            fast = pick(book, job, args[2], NETUID, now, index)
            assert verdict(fast) == verdict(pick(book, job, args[2], NETUID, now)), step
            if isinstance(fast, Selection):
                row = book.allowance_rows(args[2]).get(fast.hotkey)
                hold = (row.cycle_start, row.cycle_stop) if row and book.config.DYNAMIC_HOLD_ALLOWANCE_WHILE_ROUTING else None
                book.reserve(Reservation(job.job_uuid, fast.hotkey, job.executor_class, now, now + 10),
                             RoutedJob(job.job_uuid, fast.hotkey, job.executor_class, job.executor_seconds, 300,
                                       "selected", routed_at=now), hold)


def test_a_miner_deregistered_and_back_with_fewer_classes_leaves_the_classes_it_lost():
    """Regression (found by the property above): the index judged a changed miner only in the classes it
    still had a manifest of, so a class it lost kept ranking it, and a pick there failed on its manifest."""
    book, index = MinerBook(config=DynamicConfig()), CandidateIndex()
    book.upsert_miner(Miner("m0", "10.0.0.1", 8000, 4, ETH))
    book.add_manifests([Manifest("m0", c, 2, 2, NOW, 0) for c in CLASSES])
    book.upsert_allowances([Allowance("m0", *CYCLES[0], 1000.0, 1000.0)])
    job = JobSpec("job-1", CLASSES[1], 1, 1, 1, 0, False)
    assert pick(book, job, 25, NETUID, NOW, index).hotkey == "m0"
    book.deregister("m0")
    book.upsert_miner(Miner("m0", "10.0.0.1", 8000, 4, ETH))
    book.add_manifests([Manifest("m0", CLASSES[0], 2, 2, NOW, 0)])
    fast = pick(book, job, 25, NETUID, NOW, index)
    assert verdict(fast) == verdict(pick(book, job, 25, NETUID, NOW))
    assert fast.kind.value == "NoMinerForExecutorType"
