"""A trace replayed: bookings, reactions, retries, live answers compared, and nothing written anywhere."""

import pytest

from organism.jobs.simulation.replay import Simulation
from organism.jobs.simulation.report import report
from organism.jobs.simulation.trace import Event, TraceError
from organism.state import locate
from organism.state.sql import SqlStore
from organism.state.store import InMemoryStore

CLASS = "always_on.test"
T0 = 1_000_000.0


def miner(hotkey: str, online: int = 1, allowance: float = 1000.0) -> list[Event]:
    return [
        Event("miner", T0, {"hotkey": hotkey, "address": "10.0.0.1", "port": 8000, "ip_version": 4,
                            "collateral_wei": str(10**18)}),
        Event("manifests", T0, {"manifests": [{"hotkey": hotkey, "executor_class": CLASS,
                                               "online_executor_count": online, "executor_count": online}]}),
        Event("allowances", T0, {"allowances": [{"hotkey": hotkey, "cycle_start": -14, "cycle_stop": 708,
                                                 "initial": allowance, "remaining": allowance}]}),
    ]


def route(uuid: str, at: float, then: list | None = None, attempts: int = 1, live: dict | None = None) -> Event:
    job = {"job_uuid": uuid, "executor_class": CLASS, "download_time_limit": 10, "execution_time_limit": 20,
           "upload_time_limit": 10, "streaming_start_time_limit": 5, "on_trusted_miner": False}
    fields = {"job": job, "attempts": attempts}
    if then is not None:
        fields["then"] = then
    if live is not None:
        fields["live"] = live
    return Event("route", at, fields)


def trace(*events: Event, miners=(("a", 1, 1000.0), ("b", 1, 500.0))) -> list[Event]:
    setup = [e for hotkey, online, allowance in miners for e in miner(hotkey, online, allowance)]
    return [*setup, Event("block", T0, {"block": 25}), *events]


def replay(events, **overrides):
    return report(Simulation(overrides or None).run(events), "test")


def test_jobs_go_by_the_ranking_and_busy_slots_are_refused():
    figures = replay(trace(route("j1", T0 + 1), route("j2", T0 + 2), route("j3", T0 + 3)))
    assert (figures.jobs, figures.jobs_booked, figures.refusals) == (3, 2, {"AllMinersBusy": 1})
    assert {m.hotkey: m.bookings for m in figures.miners} == {"a": 1, "b": 1}


def test_a_busy_caller_asks_again_after_the_retry_time_and_waits_for_its_booking():
    then = [{"outcome": "finished", "start_after_s": 1, "run_s": 5}]
    figures = replay(trace(route("j1", T0 + 1, then), route("j2", T0 + 1, then), route("j3", T0 + 1, then, attempts=2)))
    assert figures.jobs_booked == 3  # j1 and j2 finish by T0 + 7; j3 asks again at T0 + 11
    assert figures.wait_s["max"] == 10.0


def test_a_decline_is_an_incident_and_the_job_goes_to_another_miner():
    then = [{"outcome": "declined", "start_after_s": 1}, {"outcome": "finished", "run_s": 5}]
    figures = replay(trace(route("j1", T0 + 1, then, attempts=2)))
    assert {m.hotkey: m.bookings for m in figures.miners} == {"a": 1, "b": 1}
    assert (figures.declines, figures.declines_with_incident, figures.incidents) == (1, 1, 1)


def test_started_jobs_deduct_allowance_and_what_is_left_is_reported():
    figures = replay(trace(route("j1", T0 + 1, [{"outcome": "finished", "run_s": 5}])))
    left = {m.hotkey: (m.allowance_burnt, m.allowance_left) for m in figures.miners}
    assert left == {"a": (40.0, 960.0), "b": (0.0, 500.0)}


def test_a_receipt_of_a_job_routed_here_follows_the_simulated_booking_and_one_never_booked_is_skipped():
    events = trace(route("j1", T0 + 1), route("j2", T0 + 1), route("j3", T0 + 1),
                   Event("receipt", T0 + 2, {"receipt_kind": "started", "job_uuid": "j1", "hotkey": "b",
                                             "executor_class": CLASS}),
                   Event("receipt", T0 + 2, {"receipt_kind": "started", "job_uuid": "j3", "hotkey": "b",
                                             "executor_class": CLASS}))
    figures = replay(events)
    assert figures.skipped_receipts == 1 and not figures.facts_refused  # j1's receipt names b, it was booked on a
    assert {m.hotkey: m.allowance_burnt for m in figures.miners}["a"] == 40.0


def test_live_answers_are_compared():
    events = trace(route("j1", T0 + 1, live={"hotkey": "a"}), route("j2", T0 + 2, live={"hotkey": "a"}),
                   route("j3", T0 + 3, live={"refused": "AllMinersBusy"}))
    figures = replay(events)
    assert figures.live_matched == 2 and figures.live_differed == [("j2", "a", "b")]


def test_the_compared_configuration_applies_from_the_start_and_after_every_config_event():
    events = trace(Event("config", T0 + 1, {"patch": {"DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI": 10**16}}),
                   route("j1", T0 + 2))
    assert replay(events).refusals == {}
    assert replay(events, DYNAMIC_MINIMUM_COLLATERAL_AMOUNT_WEI=10**19).refusals == {"NotEnoughCollateral": 1}


def test_a_config_the_picker_could_not_accept_stops_the_replay_at_its_line():
    with pytest.raises(TraceError, match="line 7"):
        Simulation().run(trace(Event("config", T0 + 1, {"patch": {"NO_SUCH_KEY": 1}}, line=7)))


def test_facts_the_picker_refuses_are_counted_not_fatal():
    figures = replay(trace(Event("lift", T0 + 1, {"hotkey": "nobody"})))
    assert figures.facts_refused == {"lift: UnknownMiner": 1}


def test_the_same_trace_and_seed_give_the_same_report():
    then = [{"outcome": "declined"}, {"outcome": "failed", "run_s": 3}, {"outcome": "finished", "run_s": 5}]
    events = trace(*(route(f"j{n}", T0 + n, then, attempts=3) for n in range(1, 30)))
    first, second = replay(events), replay(events)
    assert first.as_dict() | {"decision_ms": None} == second.as_dict() | {"decision_ms": None}


def test_a_simulation_writes_nothing_to_any_store(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a simulation touched a store")

    for name in ("transaction", "write", "load", "forget_tombstones"):
        monkeypatch.setattr(InMemoryStore, name, refuse)
    for name in ("__init__", "transaction", "write", "load"):  # nor the live state's database
        monkeypatch.setattr(SqlStore, name, refuse)
    monkeypatch.setattr(locate, "open_store", refuse)
    then = [{"outcome": "finished", "run_s": 5}]
    figures = replay(trace(*(route(f"j{n}", T0 + 25 * n, then) for n in range(1, 5))))
    assert figures.jobs_booked == 4
