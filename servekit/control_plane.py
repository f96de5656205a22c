"""Is Ray's control plane (the GCS) still there? Each replica's own answer, kept fresh.

A daemon thread asks the GCS a trivial question (an internal-KV read) every
second with a one-second budget. The first unanswered question marks the
control plane lost: health answers 503 and routes that write refuse with 503
`ControlPlaneUnavailable`, instead of acknowledging changes into a cluster
that is about to go (a worker outlives its GCS by up to a minute, the GCS
reconnect timeout). An answer marks it found again, e.g. after a GCS
restart with fault tolerance. Outside a Ray worker nothing is watched.
"""

import threading
import time
from collections.abc import Callable

from fastapi import Depends

from servekit.context import replica_logger
from servekit.errors import ApiError

logger = replica_logger(__name__)

PROBE_EVERY_S = 1.0
PROBE_BUDGET_S = 1.0


class ControlPlaneWatch:
    def __init__(self, probe: Callable[[float], object], every_s: float = PROBE_EVERY_S) -> None:
        self._probe = probe
        self._every_s = every_s
        self.lost = False
        self.lost_since: float | None = None

    def check(self) -> bool:
        """Ask once; remember and answer whether the control plane is there."""
        try:
            self._probe(PROBE_BUDGET_S)
        except Exception as error:
            if not self.lost:
                logger.error("Ray's control plane (GCS) does not answer (%s): refusing writes", type(error).__name__)
                self.lost, self.lost_since = True, time.time()
            return False
        if self.lost:
            logger.warning("Ray's control plane answers again after %.0f s", time.time() - (self.lost_since or 0))
            self.lost, self.lost_since = False, None
        return True

    def start(self) -> None:
        def watch_forever() -> None:
            while True:
                self.check()
                time.sleep(self._every_s)

        threading.Thread(target=watch_forever, name="control-plane-watch", daemon=True).start()


def _gcs_probe(budget_s: float) -> object:
    from ray.experimental.internal_kv import internal_kv_get_gcs_client

    client = internal_kv_get_gcs_client()
    if client is None:
        raise RuntimeError("not connected to a Ray cluster")
    return client.internal_kv_get(b"routing:control-plane-probe", b"routing", timeout=budget_s)


class _Process:
    """The watch of this process, started once by `watch_control_plane`."""

    watch: ControlPlaneWatch | None = None


def watch_control_plane() -> ControlPlaneWatch:
    if _Process.watch is None:
        _Process.watch = ControlPlaneWatch(_gcs_probe)
        _Process.watch.start()
    return _Process.watch


def ensure_control_plane() -> None:
    """Raise the 503 that health routes and writes answer while the control plane is lost."""
    if _Process.watch is not None and _Process.watch.lost:
        raise ApiError(
            503, "ControlPlaneUnavailable", "Ray's control plane does not answer; no change is accepted",
            headers={"Retry-After": "5"},
        )


async def _refuse_writes_without_control_plane() -> None:
    ensure_control_plane()


requires_control_plane = Depends(_refuse_writes_without_control_plane)
