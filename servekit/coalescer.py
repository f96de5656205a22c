"""Coalescing: single-key calls that arrive together go out as one batch call. Pure.

The first `get` of a quiet period opens a window of `window_s`; every key
asked for until it closes (or until `max_batch` keys wait) is fetched by one
`call_many`, and each caller gets its own key's answer, or the batch's error.
A caller that gives up does not cancel the batch the others wait on.

With `window_s=None` nothing waits for a window: a key asked for while no
batch is out goes at once (with the keys asked in the same turn of the event
loop), and the keys asked while one is out go together the moment it
returns, as a database's group commit does: a lone call pays no window, and
calls under load still share a batch.
"""

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Coalescer(Generic[K, V]):
    def __init__(
        self, call_many: Callable[[list[K]], Awaitable[dict[K, V]]], window_s: float | None = 0.002,
        max_batch: int = 100,
    ) -> None:
        self._call_many = call_many
        self._window_s = window_s
        self._max_batch = max_batch
        self._waiting: dict[K, list[asyncio.Future[V]]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task] = set()
        self.batches = 0

    async def get(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V] = loop.create_future()
        self._waiting.setdefault(key, []).append(future)
        if len(self._waiting) >= self._max_batch:
            self._flush()
        elif self._timer is None and not (self._window_s is None and self._flushes):  # None: after the batch out
            self._timer = loop.call_later(self._window_s or 0.0, self._flush)
        return await asyncio.shield(future)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiting, self._waiting = self._waiting, {}
        if waiting:
            task = asyncio.get_running_loop().create_task(self._fetch(waiting))
            self._flushes.add(task)  # keep a reference until it is done
            task.add_done_callback(self._flushes.discard)

    async def _fetch(self, waiting: dict[K, list[asyncio.Future[V]]]) -> None:
        self.batches += 1
        try:
            answers = await self._call_many(list(waiting))
        except BaseException as error:  # every waiter hears of it; nothing is kept
            for futures in waiting.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        finally:
            self._next_batch()
        for key, futures in waiting.items():
            for future in futures:
                if not future.done():
                    future.set_result(answers[key])

    def _next_batch(self) -> None:
        """Without a window, the keys that waited for this batch go now."""
        if self._window_s is None and self._waiting and self._timer is None:
            self._flush()
