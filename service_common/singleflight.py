"""Single-flight: concurrent callers of one key share one in-flight call.

The first caller of a key (the leader) runs the call; everyone who arrives
while it is pending awaits the same future and gets its result or its error.
The key is forgotten as soon as the call finishes, so results are never
cached here (caching is the caller's business) and errors are never cached.
Different keys never wait on each other. If the leader is cancelled (its
client went away), the waiting followers are not: one of them leads again.
"""

import asyncio
from typing import Awaitable, Callable, Generic, Hashable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._pending: dict[K, asyncio.Future[V]] = {}

    def in_flight(self) -> int:
        return len(self._pending)

    async def do(self, key: K, call: Callable[[], Awaitable[V]]) -> V:
        while (pending := self._pending.get(key)) is not None:
            try:
                # shield: a follower that is cancelled must not cancel the leader's call.
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                this_task = asyncio.current_task()
                if pending.cancelled() and not (this_task and this_task.cancelling()):
                    continue  # the leader was cancelled, not this follower: lead or follow anew
                raise
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        # Mark the exception as retrieved even when no follower is waiting.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._pending[key] = future
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
