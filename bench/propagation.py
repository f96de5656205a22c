"""How fast change reaches the coordinator, and how soon remote routing returns.

Measured under load (wrk resolving in the background): the time from an epoch
rotation (or a rule change) until the coordinator answers a cached key with
the new epoch (rule); the longest run of `no_active_instance` for a live organ
after a rotation; and, with the organism deleted and deployed again, the time
from its first healthy answer until the coordinator routes remotely again.
"""

import itertools
import time
from collections.abc import Callable

import httpx
from ray import serve

from bench.loadgen import Measurement, summarize

KEY = {"type": "graph_embed", "domain": "propagation"}
COUNTER = itertools.count()


def _until(check: Callable[[], bool], timeout_s: float = 10.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if check():
            return time.monotonic() - started
    raise TimeoutError("the change did not arrive")


def rotations(client: httpx.Client, times: int = 20) -> Measurement:
    client.post("/pipeline/route", json=KEY)
    delays = []
    for _ in range(times):
        epoch = client.post("/organism/registry/epoch").json()["epoch"]
        delays.append(_until(lambda epoch=epoch: client.post("/pipeline/route", json=KEY).json()["epoch"] == epoch))
    return summarize("rotation_reaches_coordinator", 1, delays, 0, sum(delays), note="seconds from rotation to answer")


def rule_changes(client: httpx.Client, times: int = 10) -> Measurement:
    delays = []
    for n in range(times):
        domain = f"rule-{n}"
        client.post("/pipeline/route", json={"type": "graph_embed", "domain": domain})
        rule = {"task_type": "graph_embed", "domain": domain, "logical_id": "utility_organ_1"}
        client.put("/organism/routing/rules", json={"add": [rule]}).raise_for_status()
        delays.append(_until(lambda domain=domain: client.post(
            "/pipeline/route", json={"type": "graph_embed", "domain": domain}).json()["logical_id"] == "utility_organ_1"))
    return summarize("rule_change_reaches_coordinator", 1, delays, 0, sum(delays))


def inactive_after_rotation(client: httpx.Client, seconds: float = 4.0) -> float:
    """The longest run of `no_active_instance` for a live organ after a rotation (s)."""
    client.post("/organism/registry/epoch")
    started, worst, streak_from = time.monotonic(), 0.0, None
    while time.monotonic() - started < seconds:
        status = client.post("/organism/resolve-route", json={"task": {"type": "graph_embed"}}).json()["status"]
        now = time.monotonic()
        streak_from = (streak_from or now) if status == "no_active_instance" else None
        worst = max(worst, now - streak_from) if streak_from else worst
    return worst


def remote_again_after_outage(client: httpx.Client, redeploy: Callable[[], None]) -> float:
    """Seconds from the organism's first healthy answer after an outage to the first remote route."""
    serve.delete("organism")
    redeploy()
    _until(lambda: client.get("/organism/health").status_code == 200, 120)
    new_key = lambda: {"type": "graph_embed", "domain": f"outage-{next(COUNTER)}"}  # noqa: E731
    return _until(lambda: client.post("/pipeline/route", json=new_key()).json()["route_source"] == "remote", 60)
