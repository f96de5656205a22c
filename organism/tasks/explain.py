"""Why a task resolves where it does, in the shape of a pick's routing report. Pure.

`POST /organism/resolve-route?explain=true` adds to the resolution the rule
that matched (its kind, what matched: `type|domain`, `type` or a category's
pattern, and the logical id it names), each instance of the logical ids
considered (the preferred one, if any, and the rule's) as the registry's
snapshot shows it, with each named check's verdict in order, up to the
first that fails, and the instance chosen: an instance is a candidate when
it is `alive`, registered in the `current_epoch` and its heartbeat is
`fresh` (younger than the registry's timeout); among candidates the
registry chooses the freshest heartbeat (`registry_state`).
"""

from collections.abc import Callable
from typing import Any

from contracts.registry import Instance, InstanceStatus, RegistrySnapshot
from contracts.routing_table import Match
from organism.tasks.resolution import Resolution, RouteQuery

Check = Callable[[Instance, RegistrySnapshot, float], str | None]  # None: passed; else why not


def alive(instance: Instance, snapshot: RegistrySnapshot, now: float) -> str | None:
    return None if instance.status == InstanceStatus.ALIVE else f"status {instance.status}"


def current_epoch(instance: Instance, snapshot: RegistrySnapshot, now: float) -> str | None:
    return None if instance.epoch == snapshot.epoch else f"registered in {instance.epoch}, not {snapshot.epoch}"


def fresh_heartbeat(instance: Instance, snapshot: RegistrySnapshot, now: float) -> str | None:
    age = now - instance.last_heartbeat
    return None if age < snapshot.heartbeat_timeout_s else f"last heartbeat {age:.1f} s ago, the timeout is {snapshot.heartbeat_timeout_s:g} s"


INSTANCE_CHECKS: tuple[tuple[str, Check], ...] = (
    ("alive", alive), ("current_epoch", current_epoch), ("fresh_heartbeat", fresh_heartbeat))


def verdicts(instance: Instance, snapshot: RegistrySnapshot, now: float) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = []
    for name, check in INSTANCE_CHECKS:
        reason = check(instance, snapshot, now)
        shown.append({"filter": name, "passed": reason is None, "reason": reason})
        if reason is not None:
            break
    return shown


def explain(query: RouteQuery, match: Match, resolution: Resolution, snapshot: RegistrySnapshot,
            now: float) -> dict[str, Any]:
    considered = [logical_id for logical_id in (query.preferred_logical_id, match.logical_id) if logical_id]
    reports = sorted((r for r in snapshot.instances if r.instance.logical_id in considered),
                     key=lambda r: (considered.index(r.instance.logical_id), r.instance.instance_id))
    candidates = [
        {"instance_id": r.instance.instance_id, "logical_id": r.instance.logical_id,
         "chosen": r.instance.instance_id == resolution.instance_id,
         "heartbeat_age_s": round(now - r.instance.last_heartbeat, 3), "verdicts": verdicts(r.instance, snapshot, now)}
        for r in reports
    ]
    return {
        "rule": {"resolved_from": match.resolved_from.value, "matched": match.rule, "logical_id": match.logical_id},
        "preferred_logical_id": query.preferred_logical_id,
        "outcome": {"status": resolution.status.value, "logical_id": resolution.logical_id,
                    "instance_id": resolution.instance_id},
        "epoch": snapshot.epoch,
        "candidates": candidates,
    }
