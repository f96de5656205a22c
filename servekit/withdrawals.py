"""Withdrawals: how a caller who gave up waiting takes back a call to an actor that runs one at a time.

Ray does not take back a call queued on a threaded actor: `ray.cancel` makes
the caller's answer an error, yet the actor runs the call when its turn
comes (Ray 2.60), so "nothing was applied" would be a lie. The caller says
so itself: `withdraw(call)` runs beside the queue (a concurrency group of its
own, `CONCURRENCY_GROUPS`) and answers at once whether the call will never
apply (`True`: it had not reached its first commit; when its turn comes it
stops, `Withdrawn`) or may have (`False`: it had begun committing; its answer
is on the way). The actor checks `started()` when a call begins (a withdrawn
call does no work) and passes `commit_point()` before every write it commits;
one lock orders the two, so the caller's answer is exact.

A call is named by its Ray task id (`current_call`, the id the caller's
ObjectRef carries); only the last `REMEMBERED` of each kind are kept.
"""

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import ray

T = TypeVar("T")
CONTROL_GROUP = "control"
CONCURRENCY_GROUPS = {CONTROL_GROUP: 1}
REMEMBERED = 10_000


class Withdrawn(Exception):
    """The call was withdrawn by its caller before it applied anything."""


def current_call() -> str | None:
    """The Ray task id of the call being run; None outside a Ray task (asking Ray's runtime
    context in a process without Ray would start a local Ray instance)."""
    if not ray.is_initialized():
        return None
    return ray.get_runtime_context().get_task_id()


class Withdrawals:
    def __init__(self, call: Callable[[], str | None] = current_call) -> None:
        self._call = call
        self._lock = threading.Lock()
        self._withdrawn: OrderedDict[str, None] = OrderedDict()
        self._committing: OrderedDict[str, None] = OrderedDict()

    def withdraw(self, call: str) -> bool:
        """Take back `call`: True if it will apply nothing, False if it has begun committing."""
        with self._lock:
            if call in self._committing:
                return False
            _remember(self._withdrawn, call)
            return True

    def started(self) -> None:
        """At the start of a call: stop here if it was withdrawn while it waited."""
        call = self._call()
        with self._lock:
            if call is not None and call in self._withdrawn:
                raise Withdrawn("the caller withdrew this call before it ran")

    def commit_point(self) -> None:
        """Before a commit: stop if withdrawn; otherwise the call can no longer be withdrawn."""
        call = self._call()
        if call is None:
            return
        with self._lock:
            if call in self._committing:
                return  # an earlier write of the same call was committed: the rest follows it
            if call in self._withdrawn:
                raise Withdrawn("the caller withdrew this call before it was written")
            _remember(self._committing, call)


def _remember(calls: OrderedDict[str, None], call: str) -> None:
    calls[call] = None
    if len(calls) > REMEMBERED:
        calls.popitem(last=False)


class Withdrawable:
    """Mixed into an actor (created with `CONCURRENCY_GROUPS`): its callers may withdraw their calls."""

    _withdrawals: Withdrawals

    @ray.method(concurrency_group=CONTROL_GROUP)
    def withdraw(self, call: str) -> bool:
        return self._withdrawals.withdraw(call)


def fenced(method: Callable[..., T]) -> Callable[..., T]:
    """A `Withdrawable` actor's method that changes state: a call withdrawn while it waited does nothing."""

    @functools.wraps(method)
    def run(self: Withdrawable, *args: Any, **kwargs: Any) -> T:
        self._withdrawals.started()
        return method(self, *args, **kwargs)

    return run
