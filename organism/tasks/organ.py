"""Organ: one Ray actor per organ instance.

An organ registers itself (`starting`, then `alive`), heartbeats every
`interval` plus up to `jitter` seconds, backs off while the registry is
unreachable, re-registers when the registry no longer knows it in the current
epoch (rotation or registry restart), marks itself `dead` when stopped, and
runs task steps through the handler table of `organ_handlers`.
"""

import asyncio
import logging
import random
import uuid
from typing import Any

import ray

from organism.detached import get_or_create_detached
from organism.tasks.organ_handlers import OrganContext, handler_for
from organism.tasks.registry_state import InstanceStatus

logger = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0


class Organ:
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
        self._registry = registry
        self._interval = heartbeat_interval_s
        self._jitter = heartbeat_jitter_s
        # A restarted actor is a new instance: the registry prefers it once it heartbeats.
        self._instance_id = f"{logical_id}-{uuid.uuid4().hex[:12]}"
        self._node_id = ray.get_runtime_context().get_node_id()
        self._epoch: str | None = None
        self._heartbeats = asyncio.get_event_loop().create_task(self._heartbeat_forever())

    async def _heartbeat_forever(self) -> None:
        delay = self._interval
        while True:
            try:
                if self._epoch is None:
                    await self._register()
                else:
                    reply = await self._registry.heartbeat.remote(self._instance_id)
                    if not reply.registered:
                        logger.info("%s re-registers in epoch %s", self._instance_id, reply.epoch)
                        await self._register()
                delay = self._interval
            except Exception as error:  # registry down or restarting: back off, keep trying
                delay = min(delay * 2, MAX_BACKOFF_S)
                logger.warning("heartbeat of %s failed (%s); retry in %.1fs", self._instance_id, error, delay)
            await asyncio.sleep(delay + random.uniform(0, self._jitter))

    async def _register(self) -> None:
        epoch = await self._registry.register.remote(
            self._instance_id,
            self._logical_id,
            self._actor_name,
            self._node_id,
            InstanceStatus.STARTING.value,
        )
        # Nothing to warm up yet; a real organ would load its resources here.
        await self._registry.set_status.remote(self._instance_id, InstanceStatus.ALIVE.value)
        self._epoch = epoch

    async def execute(self, task: dict[str, Any]) -> dict[str, Any]:
        context = OrganContext(self._logical_id, self._instance_id, self._epoch or "")
        return await handler_for(task["type"])(context, task)

    def describe(self) -> dict[str, Any]:
        return {
            "instance_id": self._instance_id,
            "logical_id": self._logical_id,
            "actor_name": self._actor_name,
            "epoch": self._epoch,
        }

    async def stop(self) -> None:
        """Stop heartbeating, tell the registry this instance is dead, and exit."""
        self._heartbeats.cancel()
        try:
            await self._registry.set_status.remote(self._instance_id, InstanceStatus.DEAD.value)
        finally:
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
