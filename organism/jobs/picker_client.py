"""The OrganismManager replica's side of the MinerPicker actor.

`picker` is the one picker as its contract (`contracts.picker.Picker`):
every call goes to it under a time budget, and an actor that does not answer
in time (restarting, overloaded, gone) is `PickerUnavailable`; one whose
database did not answer is `StoreUnavailable` (`servekit.actors`). A pick
goes to the picker at once when none is out; the picks that arrive while a
batch is out go together as the next one, the moment it returns (fewer actor
calls and one write for all of them; each still a decision of its own). A
pick is counted by outcome and timed. Answers stay typed: the api layer
turns them into HTTP.
"""

import time

from contracts.jobs import JobRouted, JobSpec
from contracts.picker import Picker
from contracts.refusals import PickerUnavailable, Refusal
from organism.metrics import OrganismMetrics
from servekit.coalescer import Coalescer

PICK_WINDOW_S = None  # no window: a lone pick goes at once, picks under load share a batch
PICK_MAX_BATCH = 64


class PickerClient:
    def __init__(self, picker: Picker, metrics: OrganismMetrics) -> None:
        self.picker = picker
        self._metrics = metrics
        self._picks: Coalescer[JobSpec, JobRouted | Refusal] = Coalescer(self._route_batch, PICK_WINDOW_S, PICK_MAX_BATCH)

    async def _route_batch(self, specs: list[JobSpec]) -> dict[JobSpec, JobRouted | Refusal]:
        return dict(zip(specs, await self.picker.route_jobs(specs), strict=True))

    async def route_job(self, spec: JobSpec, dry_run: bool) -> JobRouted | Refusal:
        started = time.perf_counter()
        try:
            outcome = await (self._dry_run(spec) if dry_run else self._picks.get(spec))
        except PickerUnavailable:
            self._metrics.picks.inc(tags={"outcome": "PickerUnavailable"})
            raise
        finally:
            self._metrics.pick_latency.observe((time.perf_counter() - started) * 1000)
        if isinstance(outcome, Refusal):
            label = outcome.kind.value
        else:
            label = "replayed" if outcome.replayed else outcome.reason
        self._metrics.picks.inc(tags={"outcome": label})
        return outcome

    async def _dry_run(self, spec: JobSpec) -> JobRouted | Refusal:
        return await self.picker.dry_run(spec)
