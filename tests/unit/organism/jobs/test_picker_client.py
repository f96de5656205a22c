"""PickerClient through its seam: the real picker class in process, no Ray."""

import asyncio
import time
from dataclasses import replace

import pytest

from contracts.audit import AuditStamp
from contracts.jobs import Allowance, JobRouted, Manifest, Miner
from contracts.refusals import PickerUnavailable, Refusal
from organism.jobs.picker_client import PickerClient
from tests.fakes import RecordingMetrics, picker
from tests.unit.organism.jobs.scenario import CLASS, ETH, job

OPS = AuditStamp("ops", "admin", "corr-1")


@pytest.fixture
async def client() -> PickerClient:
    seam = picker()
    await seam.upsert_miner(Miner("a", "10.0.0.1", 8000, 4, ETH), OPS)
    await seam.add_manifests([Manifest("a", CLASS, 3, 3, time.time(), 0)])
    await seam.upsert_allowances([Allowance("a", -14, 708, 1000.0, 1000.0)], OPS)
    await seam.set_block(25, OPS)
    return PickerClient(seam, RecordingMetrics())


async def test_picks_that_arrive_together_go_to_the_picker_as_one_call(client):
    calls_before = client.picker.calls
    outcomes = await asyncio.gather(*(client.route_job(job(f"job-{n}"), dry_run=False) for n in range(4)))
    assert [type(o) for o in outcomes] == [JobRouted] * 3 + [Refusal]  # three executors
    assert outcomes[3].kind.value == "AllMinersBusy"
    assert client.picker.calls - calls_before == 1


async def test_outcomes_are_counted_by_kind_and_every_pick_is_timed(client):
    await client.route_job(job("job-1"), dry_run=False)
    await client.route_job(job("job-1"), dry_run=False)  # the same uuid: replayed
    await client.route_job(replace(job("job-2"), executor_class="nope"), dry_run=False)
    picks = client._metrics.picks
    assert (picks.total(outcome="selected"), picks.total(outcome="replayed"), picks.total(outcome="ValidationError")) == (
        1, 1, 1)
    assert len(client._metrics.pick_latency.points) == 3


async def test_a_dry_run_ranks_without_booking(client):
    dry = await client.route_job(job("job-1"), dry_run=True)
    assert dry.dry_run and dry.explain.ranking == ["a"]
    booked = await client.route_job(job("job-1"), dry_run=False)
    assert not booked.replayed  # the dry run held nothing


async def test_a_picker_that_does_not_answer_is_a_fault_counted_as_such(client):
    client.picker.reachable = False
    with pytest.raises(PickerUnavailable):
        await client.route_job(job("job-1"), dry_run=False)
    assert client._metrics.picks.total(outcome="PickerUnavailable") == 1
