"""The OrganismManager replica's side of the MinerPicker actor.

Every call goes to the one picker under a time budget; an actor that does
not answer in time (restarting, overloaded, gone) is `PickerUnavailable`; one
whose database did not answer is `StoreUnavailable`.
Picks that arrive within a millisecond of each other go to the picker as one
batch (fewer actor calls and one write for all of them; each still a
decision of its own). A pick is counted by outcome and timed. Answers stay
typed: the api layer turns them into HTTP.
"""

import asyncio
import time
from typing import Any

import ray
from ray.exceptions import RayError, RayTaskError

from organism.detached import current, kill
from organism.jobs.outcomes import JobRouted, Refusal
from organism.jobs.picker_actor import get_or_create_picker
from organism.jobs.records import JobSpec
from organism.metrics import OrganismMetrics
from organism.settings import OrganismSettings
from organism.state.store import StoreUnavailable
from servekit.coalescer import Coalescer

PICK_WINDOW_S = 0.001
PICK_MAX_BATCH = 64


class PickerUnavailable(Exception):
    """The miner picker did not answer in time; the message is safe to show."""


class PickerClient:
    def __init__(self, settings: OrganismSettings, metrics: OrganismMetrics) -> None:
        self._settings = settings
        self._picker: ray.actor.ActorHandle | None = None
        self._timeout_s = settings.picker_call_timeout_s
        self._metrics = metrics
        self._picks: Coalescer[JobSpec, JobRouted | Refusal] = Coalescer(self._route_batch, PICK_WINDOW_S, PICK_MAX_BATCH)

    async def _route_batch(self, specs: list[JobSpec]) -> dict[JobSpec, JobRouted | Refusal]:
        return dict(zip(specs, await self.call("route_jobs", specs), strict=True))

    async def start(self) -> None:
        """Find (or start, or replace when it runs other code) the one picker."""
        settings = self._settings
        self._picker = await current(lambda: get_or_create_picker(
            settings.picker_actor_name, settings.namespace, settings.state_path, settings.netuid,
            settings.state_actor_resources(),
        ), kill)

    async def call(self, method: str, *args: Any) -> Any:
        try:
            return await asyncio.wait_for(getattr(self._picker, method).remote(*args), self._timeout_s)
        except StoreUnavailable as failure:  # the picker answered; its database did not
            raise StoreUnavailable(f"the miner picker's store did not answer {method}; nothing was written") from failure
        except RayTaskError:
            raise  # a bug in the picker, not an outage: logged and answered 500 without a trace
        except (TimeoutError, RayError) as failure:
            raise PickerUnavailable(f"miner picker did not answer {method}: {type(failure).__name__}") from failure

    async def route_job(self, spec: JobSpec, dry_run: bool) -> JobRouted | Refusal:
        started = time.perf_counter()
        try:
            outcome = await (self.call("route_job", spec, True) if dry_run else self._picks.get(spec))
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
