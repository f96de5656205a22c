"""The spread ordering: reliability, the weighted order, and picks on both paths, reproducible by seed."""

import math
from collections import Counter
from random import Random

import pytest
from pydantic import ValidationError

from contracts.dynamic_config import DynamicConfig, DynamicConfigPatch
from contracts.jobs import Incident
from organism.jobs.candidate_index import CandidateIndex
from organism.jobs.policy import pick
from organism.jobs.spread import reliability, weighted_order

from .scenario import BLOCK, NETUID, NOW, job, make_book, selected

RELIABILITY = [
    ("no incidents", 0, 2.0, 2.0, 1 / (1 + math.exp(-4))),
    ("at the soft cutoff", 2, 2.0, 2.0, 0.5),
    ("well past it", 10, 2.0, 2.0, 1 / (1 + math.exp(16))),
    ("gentle", 4, 3.0, 0.5, 1 / (1 + math.exp(0.5))),
    ("never quite 0", 10_000, 0.0, 100.0, 1 / (1 + math.exp(700))),
]


@pytest.mark.parametrize("name, incidents, cutoff, steepness, expected", RELIABILITY, ids=[c[0] for c in RELIABILITY])
def test_reliability_is_a_sigmoid_of_recent_incidents(name, incidents, cutoff, steepness, expected):
    config = DynamicConfig(DYNAMIC_SPREAD_INCIDENT_CUTOFF=cutoff, DYNAMIC_SPREAD_STEEPNESS=steepness)
    assert reliability(incidents, config) == pytest.approx(expected)


@pytest.mark.parametrize("patch", [{"DYNAMIC_ROUTING_ORDER": "random"}, {"DYNAMIC_SPREAD_STEEPNESS": 0},
                                   {"DYNAMIC_SPREAD_INCIDENT_CUTOFF": -1}, {"DYNAMIC_SPREAD_STEEPNESS": "2"}])
def test_invalid_spread_settings_are_refused(patch):
    with pytest.raises(ValidationError):
        DynamicConfigPatch.model_validate(patch)


WEIGHTS = {"a": 1.0, "b": 2.0, "c": 7.0, "none": 0.0}


def test_the_weighted_order_yields_each_weighted_item_once_and_reproducibly():
    orders = [list(weighted_order(list(WEIGHTS), WEIGHTS.get, 7.0, Random(seed))) for seed in (1, 1, 2)]
    assert orders[0] == orders[1]
    assert sorted(orders[0]) == sorted(orders[2]) == ["a", "b", "c"]  # weight 0: never


def test_the_first_draw_follows_the_weights():
    rng = Random(5)
    firsts = Counter(next(weighted_order(list(WEIGHTS), WEIGHTS.get, 7.0, rng)) for _ in range(5000))
    assert {k: round(v / 5000, 1) for k, v in firsts.items()} == {"a": 0.1, "b": 0.2, "c": 0.7}


def test_the_exact_fallback_keeps_the_weights_when_the_bound_is_loose():
    rng = Random(6)  # a bound 1000 times the largest weight: rejection misses, the exact draw takes over
    firsts = Counter(next(weighted_order(list(WEIGHTS), WEIGHTS.get, 7000.0, rng)) for _ in range(5000))
    assert {k: round(v / 5000, 1) for k, v in firsts.items()} == {"a": 0.1, "b": 0.2, "c": 0.7}


MINERS = [{"hotkey": "a", "remaining": 1000.0, "initial": 1000.0}, {"hotkey": "b", "remaining": 3000.0, "initial": 3000.0},
          {"hotkey": "c", "remaining": 30.0, "initial": 1000.0}]  # c: too little for the job (40 s)


@pytest.mark.parametrize("path", ["index", "reference"])
def test_spread_picks_follow_allowance_left_on_both_paths(path):
    rng, picks = Random(11), Counter()
    for _ in range(2000):
        book = make_book(*MINERS, DYNAMIC_ROUTING_ORDER="spread")
        index = CandidateIndex() if path == "index" else None
        picks[selected(pick(book, job(), BLOCK, NETUID, NOW, index, rng))] += 1
    assert set(picks) == {"a", "b"} and abs(picks["b"] / 2000 - 0.75) < 0.03  # 3000 / (1000 + 3000), c never


@pytest.mark.parametrize("path", ["index", "reference"])
def test_the_same_seed_gives_the_same_spread_picks_and_the_deterministic_order_ignores_it(path):
    def picks(seed: int, order: str) -> list[str]:
        rng, chosen = Random(seed), []
        for _ in range(30):
            book = make_book(*MINERS, DYNAMIC_ROUTING_ORDER=order)
            chosen.append(selected(pick(book, job(), BLOCK, NETUID, NOW, CandidateIndex() if path == "index" else None, rng)))
        return chosen

    assert picks(3, "spread") == picks(3, "spread") != picks(4, "spread")
    assert set(picks(3, "deterministic")) == {"a"}  # the ranking: a and b have all their allowance left, then the hotkey


def test_a_spread_pick_skips_a_busy_miner_and_an_unreliable_one_is_rarely_first():
    rng, picks = Random(2), Counter()
    for _ in range(1000):
        book = make_book({"hotkey": "a"}, {"hotkey": "b"}, {"hotkey": "busy", "online": 1}, DYNAMIC_ROUTING_ORDER="spread",
                         DYNAMIC_DEMOTE_MINERS_WITH_INCIDENTS=False)
        book.full_until[("busy", "always_on.test")] = NOW + 60
        book.incidents["b"] = [_incident("b", n) for n in range(6)]
        picks[selected(pick(book, job(), BLOCK, NETUID, NOW, CandidateIndex(), rng))] += 1
    assert "busy" not in picks and picks["b"] < 10 and picks["a"] > 990


def _incident(hotkey: str, n: int) -> Incident:
    return Incident("declined", hotkey, f"job-{n}", NOW - 10, "validator")
