"""A replica's copy of the registry's view (epoch and rules), kept current by long-poll. Pure.

`apply` takes a view unless it is older than the one held (a reply that
crossed a newer one never rolls the rules or the epoch back); a refresh, or
a restarted registry, clears the replica's instance cache. `follow` long-polls
the registry's `watch` forever and retries with backoff while the registry
restarts. No Ray here: the registry is any `watch` coroutine.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from contracts.routing_table import RuleTable
from organism.tasks.registry_view import RegistryView, ViewVersion

logger = logging.getLogger(__name__)

Watch = Callable[[ViewVersion, float], Awaitable[RegistryView]]
MAX_RETRY_DELAY_S = 5.0


class RegistryFollower:
    def __init__(self, first: RegistryView, clear_cache: Callable[[], int]) -> None:
        self._clear_cache = clear_cache
        self.view = first
        self.table = RuleTable(first.rules)

    @property
    def epoch(self) -> str:
        return self.view.epoch

    def apply(self, view: RegistryView) -> bool:
        """Take `view` unless it is older than the one held; True when taken."""
        if view.is_older_than(self.view):
            return False
        if view.asks_to_clear_since(self.view):
            self._clear_cache()
        self.view = view
        self.table = RuleTable(view.rules)
        return True

    async def follow(self, watch: Watch, timeout_s: float) -> None:
        delay = 0.1
        while True:
            try:
                self.apply(await watch(self.view.version, timeout_s))
                delay = 0.1
            except Exception as error:  # registry restarting: retry with backoff
                logger.warning("following the registry failed (%s); retry in %.1fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY_S)
