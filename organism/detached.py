"""How the organism starts its long-lived actors: detached, named, restartable, current.

Every OrganismManager replica calls this for the same names; `get_if_exists`
makes the first caller create the actor and everyone else get it. Actors ask
for no CPU (they are I/O bound), spread over the nodes, and restart forever
after a crash.

A detached actor outlives a Serve redeploy and would keep running the old
code. Each one answers `code_version()` (a hash of the source it runs); a
replica that finds an actor of another version replaces it (`current`): the
registry and the picker are killed and created anew (their state is in the
store), organs drain and stop first.
"""

import asyncio
import functools
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import ray

from servekit.context import replica_logger

logger = replica_logger(__name__)
SOURCES = ("contracts", "servekit", "organism")


@functools.cache
def code_version() -> str:
    """A hash of every source file of the packages a detached actor runs."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(p for package in SOURCES for p in (root / package).rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


class Versioned:
    """Mixed into every detached actor: which code it runs."""

    def code_version(self) -> str:
        return code_version()


def get_or_create_detached(
    cls: type, name: str, namespace: str, *args: Any, resources: dict[str, float] | None = None,
    concurrency_groups: dict[str, int] | None = None, **options: Any,
) -> ray.actor.ActorHandle:
    actor_class = ray.remote(concurrency_groups=concurrency_groups)(cls) if concurrency_groups else ray.remote(cls)
    return (
        actor_class
        .options(
            name=name,
            namespace=namespace,
            lifetime="detached",
            get_if_exists=True,
            max_restarts=-1,
            num_cpus=0,
            resources=resources or {},
            scheduling_strategy="SPREAD",
            **options,
        )
        .remote(*args)
    )


async def current(
    create: Callable[[], ray.actor.ActorHandle], retire: Callable[[ray.actor.ActorHandle], Awaitable[None]]
) -> ray.actor.ActorHandle:
    """The actor `create` gets or makes, replaced (`retire`, then created anew) if it runs other code."""
    for _ in range(3):
        actor = create()
        try:
            running = await actor.code_version.remote()
        except ray.exceptions.RayActorError:
            await asyncio.sleep(0.2)  # another replica is replacing it right now
            continue
        if running == code_version():
            return actor
        logger.info("replacing a detached actor running code %s with %s", running, code_version())
        await retire(actor)
    return create()


async def kill(actor: ray.actor.ActorHandle) -> None:
    ray.kill(actor, no_restart=True)
    await asyncio.sleep(0.2)  # let the name be released before it is taken again
