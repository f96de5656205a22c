"""How the organism starts its long-lived actors: detached, named, restartable.

Every OrganismManager replica calls this for the same names; `get_if_exists`
makes the first caller create the actor and everyone else get it. Actors ask
for no CPU (they are I/O bound) and restart forever after a crash.
"""

from typing import Any

import ray


def get_or_create_detached(
    cls: type, name: str, namespace: str, *args: Any, resources: dict[str, float] | None = None, **options: Any
) -> ray.actor.ActorHandle:
    return (
        ray.remote(cls)
        .options(
            name=name,
            namespace=namespace,
            lifetime="detached",
            get_if_exists=True,
            max_restarts=-1,
            num_cpus=0,
            resources=resources or {},
            **options,
        )
        .remote(*args)
    )
