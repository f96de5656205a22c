"""The task wing's actors, as a replica finds them: the registry and the organs, typed.

At start a replica finds (or starts, or replaces when they run other code)
the registry and every organ its configuration names, tells the registry
which organs are configured, and retires the organ actors of an earlier
deployment that this one no longer configures (they drain and stop). It
then sees them only through their contracts (`contracts.registry`,
`contracts.organ`): an organ that does not answer in time is `OrganTimeout`,
one that is gone `OrganUnavailable`.
"""

import asyncio
import contextlib

import ray

from contracts.actor_names import is_organ_actor_name
from contracts.organ import Organ
from contracts.refusals import OrganTimeout, OrganUnavailable
from contracts.registry import Registry
from organism.detached import current
from organism.settings import OrganismSettings
from organism.tasks.organ import drain_and_stop, get_or_create_organ
from organism.tasks.registry_actor import connect_registry
from organism.tasks.routing import OrganLookup
from servekit.actors import actor_client
from servekit.context import replica_logger

logger = replica_logger(__name__)


async def start_task_actors(settings: OrganismSettings) -> tuple[Registry, OrganLookup]:
    registry, registry_handle = await connect_registry(settings)
    names = settings.organ_actor_names()
    found = await asyncio.gather(*(  # every organ at once: each is a process of its own to start
        current(lambda actor_name=actor_name, logical_id=logical_id: get_or_create_organ(
            actor_name, logical_id, settings.namespace, registry_handle, settings.heartbeat_interval_s,
            settings.heartbeat_jitter_s,
        ), drain_and_stop)
        for actor_name, logical_id in names.items()
    ))
    handles: dict[str, ray.actor.ActorHandle] = dict(zip(names, found, strict=True))
    await registry.set_known_logical_ids(sorted(settings.organs))
    await _retire_unconfigured_organs(settings)
    return registry, _organ_lookup(settings, handles)


def _organ_lookup(settings: OrganismSettings, handles: dict[str, ray.actor.ActorHandle]) -> OrganLookup:
    organs: dict[str, Organ] = {}

    def organ(actor_name: str) -> Organ:
        if actor_name not in organs:
            find = (lambda: handles[actor_name]) if actor_name in handles else (
                lambda: ray.get_actor(actor_name, settings.namespace))
            organs[actor_name] = actor_client(find, Organ, settings.organ_call_timeout_s, OrganUnavailable,
                                              f"organ {actor_name}", timeout_fault=OrganTimeout)
        return organs[actor_name]

    return organ


async def _retire_unconfigured_organs(settings: OrganismSettings) -> list[str]:
    """Organ actors of an earlier deployment that this one does not configure drain and stop."""
    named = await asyncio.to_thread(ray.util.list_named_actors, True)
    wanted = set(settings.organ_actor_names())
    retired = [
        a["name"] for a in named
        if a["namespace"] == settings.namespace and is_organ_actor_name(a["name"]) and a["name"] not in wanted
    ]
    for name in retired:
        with contextlib.suppress(ValueError):  # another replica got there first
            asyncio.get_running_loop().create_task(
                drain_and_stop(await asyncio.to_thread(ray.get_actor, name, settings.namespace))
            )
    if retired:
        logger.info("retiring organs no longer configured: %s", retired)
    return retired
