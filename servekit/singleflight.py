"""Single-flight: concurrent callers of one key share one in-flight call. Pure.

The first caller of a key (the leader) runs the call; everyone who arrives
while it is pending awaits the same future and gets its result or its error.
The key is forgotten as soon as the call finishes, so results are never
cached here (caching is the caller's business) and errors are never cached.
Different keys never wait on each other. If the leader is cancelled (its
client went away), the waiting followers are not: one of them leads again.
`do_many` does the same for a batch: keys already in flight are joined, the
rest are fetched with one shared call that later callers of those keys join.
"""

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._pending: dict[K, asyncio.Future[V]] = {}

    def in_flight(self) -> int:
        return len(self._pending)

    def pending(self, key: K) -> bool:
        return key in self._pending

    async def do(self, key: K, call: Callable[[], Awaitable[V]]) -> V:
        while (pending := self._pending.get(key)) is not None:
            joined, value = await self._join(pending)
            if joined:
                return value
            # the leader was cancelled, not this follower: lead or follow anew
        future = self._new_future(key)
        try:
            result = await call()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as error:
            future.set_exception(error)
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._pending[key]

    async def do_many(
        self,
        keys: list[K],
        call_many: Callable[[list[K]], Awaitable[dict[K, V]]],
        call_one: Callable[[K], Awaitable[V]],
    ) -> dict[K, V]:
        """Answer every key: join the ones in flight (leading anew with `call_one` if
        their leader is cancelled) and fetch the others with one `call_many`."""
        joined = {key: self._pending[key] for key in keys if key in self._pending}  # captured now
        own = {key: self._new_future(key) for key in keys if key not in joined}
        answers: dict[K, V] = {}
        try:
            if own:
                answers = await call_many(list(own))
        except asyncio.CancelledError:
            for future in own.values():
                future.cancel()
            raise
        except BaseException as error:
            for future in own.values():
                future.set_exception(error)
            raise
        else:
            for key, future in own.items():
                future.set_result(answers[key])
        finally:
            for key in own:
                del self._pending[key]
        for key, pending in joined.items():
            was_joined, value = await self._join(pending)
            answers[key] = value if was_joined else await self.do(key, lambda key=key: call_one(key))
        return answers

    @staticmethod
    async def _join(pending: "asyncio.Future[V]") -> tuple[bool, V | None]:
        """A leader's result, or (False, None) when the leader, not this task, was cancelled."""
        try:
            # shield: a follower that is cancelled must not cancel the leader's call.
            return True, await asyncio.shield(pending)
        except asyncio.CancelledError:
            this_task = asyncio.current_task()
            if pending.cancelled() and not (this_task and this_task.cancelling()):
                return False, None
            raise

    def _new_future(self, key: K) -> asyncio.Future[V]:
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        # Mark the exception as retrieved even when no follower is waiting.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._pending[key] = future
        return future
