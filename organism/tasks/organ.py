"""Organ: one Ray actor per organ instance.

An organ registers itself (`starting`, then `alive`), heartbeats every
`interval` plus up to `jitter` seconds, backs off while the registry is
unreachable, and re-registers when the registry no longer knows it in the
current epoch: at once when the registry's feed announces a rotation, at the
next heartbeat after a registry restart. It runs task steps through the
handler table of `organ_handlers`, logging each with the request's
correlation id, caller and `X-Service`. `drain_and_stop` takes it out of
routing (`draining`), lets running steps finish, marks it `dead` and exits.
"""

import asyncio
import contextlib
import logging
import random
import uuid
from typing import Any

import ray

from contracts.identity import Caller
from contracts.organ import Organ as OrganContract
from contracts.refusals import OrganUnavailable, RegistryUnavailable
from contracts.registry import InstanceStatus, OrganRegistry
from contracts.registry_feed import ViewVersion
from organism.detached import Versioned, get_or_create_detached
from organism.tasks.organ_handlers import OrganContext, handler_for
from servekit.actors import actor_client
from servekit.context import correlation_id, current_caller

logger = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0
WATCH_TIMEOUT_S = 30.0
REGISTRY_CALL_TIMEOUT_S = WATCH_TIMEOUT_S + 10.0  # a watch answers within its own timeout
DRAIN_TIMEOUT_S = 10.0


class Organ(Versioned):
    def __init__(
        self,
        logical_id: str,
        actor_name: str,
        registry: ray.actor.ActorHandle,
        heartbeat_interval_s: float,
        heartbeat_jitter_s: float,
    ) -> None:
        self._logical_id = logical_id
        self._actor_name = actor_name
        self._registry = actor_client(lambda: registry, OrganRegistry, REGISTRY_CALL_TIMEOUT_S, RegistryUnavailable,
                                      "the runtime registry")
        self._interval = heartbeat_interval_s
        self._jitter = heartbeat_jitter_s
        # A restarted actor is a new instance: the registry prefers it once it heartbeats.
        self._instance_id = f"{logical_id}-{uuid.uuid4().hex[:12]}"
        self._node_id = ray.get_runtime_context().get_node_id()
        self._epoch: str | None = None
        self._draining = False
        self._running = 0
        loop = asyncio.get_event_loop()
        self._tasks = [loop.create_task(self._heartbeat_forever()), loop.create_task(self._follow_epochs())]

    async def _heartbeat_forever(self) -> None:
        delay = self._interval
        while not self._draining:
            try:
                if self._epoch is None:
                    await self._register()
                else:
                    reply = await self._registry.heartbeat(self._instance_id)
                    if not reply.registered:
                        logger.info("%s re-registers in epoch %s", self._instance_id, reply.epoch)
                        await self._register()
                delay = self._interval
            except Exception as error:  # registry down or restarting: back off, keep trying
                delay = min(delay * 2, MAX_BACKOFF_S)
                logger.warning("heartbeat of %s failed (%s); retry in %.1fs", self._instance_id, error, delay)
            await asyncio.sleep(delay + random.uniform(0, self._jitter))

    async def _follow_epochs(self) -> None:
        """Re-register the moment the registry's feed shows a new epoch."""
        known = ViewVersion("", 0)
        while not self._draining:
            try:
                update = await self._registry.watch(known, WATCH_TIMEOUT_S)
                known = update.view.version
                if self._epoch is not None and update.view.epoch != self._epoch and not self._draining:
                    logger.info("%s re-registers in epoch %s", self._instance_id, update.view.epoch)
                    await self._register()
            except Exception:  # the heartbeat loop reports and backs off; here, just wait
                await asyncio.sleep(1.0)

    async def _register(self) -> None:
        epoch = await self._registry.register(
            self._instance_id,
            self._logical_id,
            self._actor_name,
            self._node_id,
            InstanceStatus.STARTING.value,
        )
        # Nothing to warm up yet; a real organ would load its resources here.
        await self._registry.set_status(self._instance_id, InstanceStatus.ALIVE.value)
        self._epoch = epoch

    async def execute(self, task: dict[str, Any], caller: Caller | None = None) -> dict[str, Any]:
        current_caller.set(caller)
        correlation_id.set(caller.correlation_id if caller else "")
        logger.info(
            "%s runs %s for %s (correlation id %s, X-Service %s)", self._instance_id, task["type"],
            f"{caller.service} via {caller.via}" if caller and caller.via else (caller.service if caller else "in-cluster"),
            caller.correlation_id if caller else "", caller.declared_service if caller else None,
        )
        context = OrganContext(self._logical_id, self._instance_id, self._epoch or "")
        self._running += 1
        try:
            return await handler_for(task["type"])(context, task)
        finally:
            self._running -= 1

    def describe(self) -> dict[str, Any]:
        return {
            "instance_id": self._instance_id,
            "logical_id": self._logical_id,
            "actor_name": self._actor_name,
            "epoch": self._epoch,
            "draining": self._draining,
        }

    async def drain_and_stop(self) -> None:
        """Leave routing (`draining`), let running steps finish, tell the registry `dead`, exit."""
        self._draining = True
        for task in self._tasks:
            task.cancel()
        try:
            await self._registry.set_status(self._instance_id, InstanceStatus.DRAINING.value)
            waited = 0.0
            while self._running and waited < DRAIN_TIMEOUT_S:
                await asyncio.sleep(0.05)
                waited += 0.05
            await self._registry.set_status(self._instance_id, InstanceStatus.DEAD.value)
        finally:
            logger.info("%s drained and stopped", self._instance_id)
            ray.actor.exit_actor()


def get_or_create_organ(
    actor_name: str,
    logical_id: str,
    namespace: str,
    registry: ray.actor.ActorHandle,
    heartbeat_interval_s: float,
    heartbeat_jitter_s: float,
) -> ray.actor.ActorHandle:
    return get_or_create_detached(
        Organ, actor_name, namespace, logical_id, actor_name, registry, heartbeat_interval_s, heartbeat_jitter_s
    )


async def drain_and_stop(organ: ray.actor.ActorHandle) -> None:
    """Ask an organ to drain and stop; answered once it is gone."""
    stopping = actor_client(lambda: organ, OrganContract, DRAIN_TIMEOUT_S + 5, OrganUnavailable, "a retiring organ")
    with contextlib.suppress(OrganUnavailable):  # it exits while answering: gone is what was asked
        await stopping.drain_and_stop()
