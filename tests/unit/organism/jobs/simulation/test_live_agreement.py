"""The simulator and the live picker agree: the same inputs, fed to `MinerPicker` (in process, on a
store in memory, its clock driven) and replayed as a trace, give the same bookings and refusals."""

import dataclasses
import random
import types

import pytest

from contracts.audit import AuditStamp
from contracts.jobs import Allowance, JobRouted, JobSpec, Manifest, Miner
from contracts.refusals import Refusal
from organism.jobs import picker_actor
from organism.jobs.picker_actor import MinerPicker
from organism.jobs.simulation.replay import Simulation
from organism.jobs.simulation.report import report
from organism.jobs.simulation.trace import Event
from organism.state.store import InMemoryStore

CLASS = "always_on.test"
T0 = 1_000_000.0
OPS = AuditStamp("simulator", "admin", "simulation")
FEEDER = AuditStamp("feeder", "facts", "simulation")
OWNER = AuditStamp("validator", "service", "simulation")


class Recorder:
    """Feeds the live picker and writes down the same inputs, with its answers, as trace events."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now, self.events = T0, []
        monkeypatch.setattr(picker_actor, "time", types.SimpleNamespace(time=lambda: self.now))
        self.picker = MinerPicker("unit", "", 12, store=InMemoryStore())

    def miner(self, hotkey: str, online: int, allowance: float) -> None:
        self.picker.upsert_miner(Miner(hotkey, "10.0.0.1", 8000, 4, 10**18), OPS)
        self.picker.add_manifests([Manifest(hotkey, CLASS, online, online, self.now, 0)])
        self.picker.upsert_allowances([Allowance(hotkey, -14, 708, allowance, allowance)], OPS)
        row = {"hotkey": hotkey, "executor_class": CLASS, "online_executor_count": online,
               "executor_count": online, "observed_at": self.now}
        self.events += [
            Event("miner", self.now, {"hotkey": hotkey, "address": "10.0.0.1", "port": 8000, "ip_version": 4,
                                      "collateral_wei": 10**18}),
            Event("manifests", self.now, {"manifests": [row]}),
            Event("allowances", self.now, {"allowances": [{"hotkey": hotkey, "cycle_start": -14, "cycle_stop": 708,
                                                           "initial": allowance, "remaining": allowance}]}),
        ]

    def block(self, block: int) -> None:
        self.picker.set_block(block, OPS)
        self.events.append(Event("block", self.now, {"block": block}))

    def route(self, uuid: str, execution_s: int) -> JobRouted | Refusal:
        spec = JobSpec(uuid, CLASS, 10, execution_s, 10, 5, False, caller=OWNER.subject)
        [answer] = self.picker.route_jobs([spec])
        live = {"refused": answer.kind.value} if isinstance(answer, Refusal) else {"hotkey": answer.miner.hotkey}
        job = {k: v for k, v in dataclasses.asdict(spec).items() if k != "caller_is_admin"}
        self.events.append(Event("route", self.now, {"job": job, "live": live}))
        return answer

    def receipt(self, kind: str, uuid: str, hotkey: str) -> None:
        self.picker.record_receipt(kind, uuid, hotkey, CLASS, self.now, None, FEEDER)
        self.events.append(Event("receipt", self.now, {"receipt_kind": kind, "job_uuid": uuid, "hotkey": hotkey,
                                                      "executor_class": CLASS}))

    def release(self, uuid: str, reason: str) -> None:
        self.picker.release_job(uuid, reason, OWNER)
        self.events.append(Event("release", self.now, {"job_uuid": uuid, "reason": reason}))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_recorded_trace_replays_to_the_live_bookings_exactly(monkeypatch, seed):
    draw = random.Random(seed)
    live = Recorder(monkeypatch)
    for n in range(6):
        live.miner(f"m{n}", online=draw.randint(1, 3), allowance=draw.choice([300.0, 900.0, 3000.0]))
    live.block(25)
    booked: list[tuple[str, str]] = []
    for n in range(150):
        live.now += draw.uniform(0.0, 4.0)
        if n % 20 == 0:
            live.block(25 + int((live.now - T0) // 12))
        answer = live.route(f"job-{n}", draw.choice([20, 60, 200]))
        if isinstance(answer, JobRouted) and not answer.replayed:
            booked.append((answer.job_uuid, answer.miner.hotkey))
        if booked and draw.random() < 0.6:
            uuid, hotkey = booked.pop(draw.randrange(len(booked)))
            action = draw.choice(["started", "finished", "declined", "failed", "release"])
            if action == "release":
                live.release(uuid, draw.choice(["declined", "timeout", "cancelled"]))
            else:
                live.receipt(action, uuid, hotkey)
    figures = report(Simulation().run(live.events), "replayed")
    routes = sum(e.kind == "route" for e in live.events)
    assert figures.live_differed == []
    assert figures.live_matched == routes == 150
    assert figures.incidents > 0 and len(figures.refusals) > 0  # the run saw incidents and refusals, not only bookings
