"""Names of the organism's detached actors. Pure.

Shared so the coordinator can reach an organ directly when the
OrganismManager is gone.
"""


ORGAN_PREFIX = "organ:"


def organ_actor_name(logical_id: str, index: int) -> str:
    return f"{ORGAN_PREFIX}{logical_id}:{index}"


def is_organ_actor_name(name: str) -> bool:
    return name.startswith(ORGAN_PREFIX)
