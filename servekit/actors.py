"""Typed calls to Ray actors: an actor seen through its contract's Protocol.

Every actor of the organism (the registry, the picker, an organ) has a
Protocol in `contracts/`. `actor_client(find, Contract, ...)` is an object of
that type whose methods call the actor's method of the same name, so no
caller ever names a method by a string, and only the contract's methods
exist on it (a misspelt call fails at once, not when the actor runs it).

A call waits at most `timeout_s`. An actor that does not answer in time, or
is gone, is the contract's fault (`contracts.refusals.Unavailable`, e.g.
`PickerUnavailable`). A fault never says "nothing happened" when something
did: for an actor that runs one call at a time (`withdraw=True`, the
picker, a `servekit.withdrawals.Withdrawable`), a call not answered in time
is withdrawn: if it had not begun to commit, the fault says nothing was
applied (and nothing will be); if it had, its answer is waited for a moment
more, late but true; if the actor cannot be asked, the fault says the call
may yet be applied and the same request again is safe. Other actors'
timeouts say only that they did not answer in time; a fault the actor
raises itself (its database did not
answer: `StoreUnavailable`) is raised again with a message safe to show; a bug in the actor is raised as
Ray raises it (answered 500, logged with its trace). `find` returns the
actor handle; it is asked again after a failure (the actor may have been
restarted under its name).

`in_process(instance, Contract)` is the same interface over an instance of
the actor class in this process, with a scripted delay or outage: the real
actor code without Ray, for unit tests and simulations.
"""

import asyncio
import contextlib
import copy
import inspect
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar, cast

from ray.exceptions import RayError, RayTaskError

from contracts.refusals import Unavailable

T = TypeVar("T")


def contract_methods(contract: type) -> frozenset[str]:
    """The public methods a Protocol declares, its bases' included."""
    return frozenset(
        name for klass in contract.__mro__ if klass is not object and getattr(klass, "_is_protocol", False)
        for name, member in vars(klass).items() if callable(member) and not name.startswith("_")
    )


LATE_ANSWER_S = 2.0  # how long a call that had begun to commit is waited for (the store's own timeout is 1.5 s)
WITHDRAW_TIMEOUT_S = 1.0  # a withdrawal runs beside the actor's queue: it answers at once, or the actor is gone


def _pending(call: Any) -> tuple[asyncio.Future, str]:
    """A call in flight as a future, and its name for a withdrawal (a Ray ObjectRef's task id)."""
    if hasattr(call, "future"):
        return asyncio.wrap_future(call.future()), call.task_id().hex()
    task = asyncio.ensure_future(call)  # a test's fake actor
    return task, getattr(call, "call_id", "")


class _ActorClient:
    def __init__(self, find: Callable[[], Any], contract: type, timeout_s: float, fault: type[Unavailable],
                 name: str, timeout_fault: type[Unavailable] | None, withdraw: bool = False) -> None:
        self._find, self._timeout_s, self._name, self._withdraw = find, timeout_s, name, withdraw
        self._fault, self._timeout_fault = fault, timeout_fault or fault
        self._methods = contract_methods(contract)
        self._handle: Any = None

    def __getattr__(self, method: str) -> Callable[..., Awaitable[Any]]:
        if method.startswith("_"):  # not ours (nor yet set, while an instance is copied)
            raise AttributeError(method)
        if method not in self._methods:
            raise AttributeError(f"{self._name} has no method {method!r} in its contract")

        async def call(*args: Any, **kwargs: Any) -> Any:
            with self._faults(method):
                if self._handle is None:
                    self._handle = await asyncio.to_thread(self._find)
                answer, call_id = _pending(getattr(self._handle, method).remote(*args, **kwargs))
                try:
                    return await asyncio.wait_for(asyncio.shield(answer), self._timeout_s)
                except TimeoutError:
                    pass
            if not self._withdraw:
                raise self._timeout_fault(f"{self._name} did not answer {method} in time")
            return await self._withdrawn_or_late(method, answer, call_id)

        return call

    async def _withdrawn_or_late(self, method: str, answer: asyncio.Future, call_id: str) -> Any:
        """The call is taken back; its answer only if it had begun to commit."""
        late = f"{self._name} did not answer {method} in time"
        try:
            withdrawn = await asyncio.wait_for(self._handle.withdraw.remote(call_id), WITHDRAW_TIMEOUT_S)
        except (TimeoutError, RayError) as error:
            raise self._timeout_fault(f"{late} nor could it be asked to withdraw the call ({type(error).__name__}):"
                                      " it may yet be applied; the same request again is safe") from error
        if withdrawn:
            answer.add_done_callback(lambda done: done.cancelled() or done.exception())  # nobody waits for it
            raise self._timeout_fault(f"{late}; the call was withdrawn before it was applied: nothing was applied")
        with self._faults(method):
            try:
                return await asyncio.wait_for(answer, LATE_ANSWER_S)  # it had begun to commit: late but true
            except TimeoutError:
                raise self._timeout_fault(f"{late}; it had begun to write: it may yet be applied; the same"
                                          " request again is safe") from None

    @contextlib.contextmanager
    def _faults(self, method: str) -> Iterator[None]:
        """What the actor's answer means when it is not one: a fault of the contract, or a bug."""
        try:
            yield
        except Unavailable as fault:  # the actor answered: something behind it did not (never its details)
            cause = getattr(fault, "cause", fault)  # the actor's own exception, not Ray's wrapper
            raise type(cause)(f"{self._name}'s {cause.behind} did not answer {method}; nothing was written") from fault
        except RayTaskError:
            raise  # the actor's code raised: a bug, answered 500 and logged with its trace
        except (RayError, ValueError) as error:  # gone or unreachable; ValueError: no actor of that name
            self._handle = None
            raise self._fault(f"{self._name} did not answer {method}: {type(error).__name__}") from error


def actor_client(find: Callable[[], Any], contract: type[T], timeout_s: float, fault: type[Unavailable],
                 name: str, timeout_fault: type[Unavailable] | None = None, withdraw: bool = False) -> T:
    """The actor `find` returns, as an object of its `contract` (`withdraw`: calls it had no time for
    are withdrawn, for an actor that runs one call at a time)."""
    return cast(T, _ActorClient(find, contract, timeout_s, fault, name, timeout_fault, withdraw))


def with_timeout(client: T, timeout_s: float) -> T:
    """The same actor through the same contract, waiting up to `timeout_s` (for calls that wait on purpose)."""
    if not isinstance(client, _ActorClient):
        return client  # in process: no budget to change
    patient = copy.copy(client)
    patient._timeout_s = timeout_s
    return cast(T, patient)


class InProcess:
    """An actor class's instance in this process, called as its contract declares.

    `delay_s` makes every call wait first; `reachable = False` makes every call
    the contract's fault, as an actor that is gone would be. `calls` counts every
    call, `calls_of` each method's."""

    def __init__(self, instance: Any, contract: type, fault: type[Unavailable] = Unavailable,
                 delay_s: float = 0.0) -> None:
        self.instance, self.delay_s, self.reachable, self.calls = instance, delay_s, True, 0
        self.calls_of: Counter[str] = Counter()
        self._fault, self._methods = fault, contract_methods(contract)

    def __getattr__(self, method: str) -> Callable[..., Awaitable[Any]]:
        if method.startswith("_"):
            raise AttributeError(method)
        if method not in self._methods:
            raise AttributeError(f"{type(self.instance).__name__} has no method {method!r} in its contract")
        bound = getattr(self.instance, method)

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            self.calls_of[method] += 1
            await asyncio.sleep(self.delay_s)
            if not self.reachable:
                raise self._fault(f"{type(self.instance).__name__} is switched off")
            answer = bound(*args, **kwargs)
            return await answer if inspect.isawaitable(answer) else answer

        return call


def in_process(instance: Any, contract: type[T], fault: type[Unavailable] = Unavailable, delay_s: float = 0.0) -> T:
    return cast(T, InProcess(instance, contract, fault, delay_s))
