"""Names of the organism's detached actors. Pure.

Shared so the coordinator can reach an organ directly when the
OrganismManager is gone.
"""


def organ_actor_name(logical_id: str, index: int) -> str:
    return f"organ:{logical_id}:{index}"
