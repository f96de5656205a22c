"""The typed actor seam: only the contract's methods, a time budget, faults told apart from bugs."""

import asyncio
import contextvars
import itertools
from typing import Any, Protocol

import pytest
from ray.exceptions import RayActorError, RayTaskError

from contracts.refusals import OrganTimeout, OrganUnavailable, StoreUnavailable
from servekit.actors import actor_client, contract_methods, in_process
from servekit.withdrawals import Withdrawals


class Counter(Protocol):
    async def add(self, amount: int) -> int: ...

    async def total(self) -> int: ...


class FakeHandle:
    """Stands in for a Ray actor handle: `handle.method.remote(...)` is awaitable."""

    def __init__(self, behave: Any = None, delay_s: float = 0.0) -> None:
        self.value, self.behave, self.delay_s = 0, behave, delay_s

    def __getattr__(self, method: str) -> Any:
        handle = self

        class Method:
            @staticmethod
            def remote(*args: Any) -> Any:
                async def run() -> Any:
                    await asyncio.sleep(handle.delay_s)
                    if handle.behave is not None:
                        raise handle.behave
                    if method == "add":
                        handle.value += args[0]
                    return handle.value

                return run()

        return Method()


def client(handle: FakeHandle | None = None, finds: list | None = None, timeout_s: float = 1.0) -> Counter:
    def find() -> FakeHandle:
        if finds is not None:
            finds.append(1)
        if handle is None:
            raise ValueError("Failed to look up actor")
        return handle

    return actor_client(find, Counter, timeout_s, OrganUnavailable, "the counter", timeout_fault=OrganTimeout)


def test_a_contract_lists_its_methods():
    assert contract_methods(Counter) == {"add", "total"}


async def test_the_contracts_methods_call_the_actors_and_nothing_else_exists():
    counter = client(FakeHandle())
    assert (await counter.add(2), await counter.add(3), await counter.total()) == (2, 5, 5)
    with pytest.raises(AttributeError, match="no method 'subtract'"):
        counter.subtract  # noqa: B018


@pytest.mark.parametrize(
    "handle, fault, message",
    [
        (FakeHandle(delay_s=0.5), OrganTimeout, "the counter did not answer add in time"),
        (FakeHandle(behave=RayActorError()), OrganUnavailable, "the counter did not answer add: RayActorError"),
        (None, OrganUnavailable, "the counter did not answer add: ValueError"),
    ],
)
async def test_an_actor_that_does_not_answer_is_the_contracts_fault(handle, fault, message):
    with pytest.raises(fault) as raised:
        await client(handle, timeout_s=0.1).add(1)
    assert str(raised.value) == message and type(raised.value) is fault


async def test_a_gone_actor_is_looked_up_again_on_the_next_call():
    finds: list = []
    handle = FakeHandle(behave=RayActorError())
    counter = client(handle, finds)
    with pytest.raises(OrganUnavailable):
        await counter.add(1)
    handle.behave = None
    assert await counter.add(1) == 1 and len(finds) == 2


async def test_a_fault_behind_the_actor_passes_through_with_a_message_safe_to_show():
    handle = FakeHandle(behave=StoreUnavailable("PostgreSQL: connection to server at 10.1.2.3 failed"))
    with pytest.raises(StoreUnavailable) as raised:
        await client(handle).add(1)
    assert str(raised.value) == "the counter's store did not answer add; nothing was written"


async def test_a_bug_in_the_actor_is_raised_as_ray_raises_it():
    bug = RayTaskError("add", "Traceback ...", ZeroDivisionError("division by zero"))
    with pytest.raises(RayTaskError):
        await client(FakeHandle(behave=bug)).add(1)


class Totals:
    def __init__(self) -> None:
        self.value = 0

    def add(self, amount: int) -> int:  # a sync actor method
        self.value += amount
        return self.value

    async def total(self) -> int:  # an async one
        return self.value


async def test_in_process_runs_the_actor_class_itself_with_a_scripted_outage():
    counter = in_process(Totals(), Counter, OrganUnavailable)
    assert (await counter.add(4), await counter.total()) == (4, 4)
    counter.reachable = False
    with pytest.raises(OrganUnavailable):
        await counter.total()


async def test_a_patient_copy_waits_longer_and_leaves_the_original_as_it_was():
    from servekit.actors import with_timeout

    quick = client(FakeHandle(delay_s=0.3), timeout_s=0.1)
    patient = with_timeout(quick, 1.0)
    assert await patient.add(1) == 1
    with pytest.raises(OrganTimeout):
        await quick.add(1)


class OneAtATime:
    """A fake actor that runs one call at a time, its calls withdrawable (the real `Withdrawals`): each
    waits `queued_s` in the queue, passes its commit point, then takes `write_s` to write."""

    def __init__(self, queued_s: float = 0.0, write_s: float = 0.0, gone: bool = False) -> None:
        self.value, self.queued_s, self.write_s, self.gone = 0, queued_s, write_s, gone
        self._running: contextvars.ContextVar[str | None] = contextvars.ContextVar("call", default=None)
        self.withdrawals = Withdrawals(self._running.get)
        self._calls = itertools.count()

    def __getattr__(self, method: str) -> Any:
        handle = self

        class Call:
            def __init__(self, run: Any, call_id: str) -> None:
                self.run, self.call_id = run, call_id

            def __await__(self) -> Any:
                return self.run.__await__()

        class Method:
            @staticmethod
            def remote(*args: Any) -> Any:
                if method == "withdraw":
                    return Call(handle._withdraw(args[0]), "")
                call_id = str(next(handle._calls))
                return Call(handle._run(call_id, args[0]), call_id)

        return Method()

    async def _withdraw(self, call_id: str) -> bool:
        if self.gone:
            raise RayActorError()
        return self.withdrawals.withdraw(call_id)

    async def _run(self, call_id: str, amount: int) -> int:
        self._running.set(call_id)
        await asyncio.sleep(self.queued_s)
        self.withdrawals.started()
        self.withdrawals.commit_point()
        await asyncio.sleep(self.write_s)
        self.value += amount
        return self.value


def withdrawing(handle: OneAtATime) -> Counter:
    return actor_client(lambda: handle, Counter, 0.1, OrganUnavailable, "the counter", withdraw=True)


async def test_a_call_withdrawn_while_it_waited_applies_nothing_ever_and_says_so():
    handle = OneAtATime(queued_s=0.3)
    with pytest.raises(OrganUnavailable, match="withdrawn before it was applied: nothing was applied"):
        await withdrawing(handle).add(1)
    await asyncio.sleep(0.4)  # its turn came and went
    assert handle.value == 0


async def test_a_call_that_had_begun_to_commit_is_answered_late_rather_than_denied():
    handle = OneAtATime(write_s=0.3)
    assert await withdrawing(handle).add(1) == 1 and handle.value == 1


async def test_an_actor_that_cannot_be_asked_to_withdraw_is_not_said_to_have_applied_nothing():
    with pytest.raises(OrganUnavailable, match="it may yet be applied; the same request again is safe") as raised:
        await withdrawing(OneAtATime(queued_s=0.3, gone=True)).add(1)
    assert "nothing was applied" not in str(raised.value)


async def test_without_withdrawal_a_timeout_claims_nothing_about_what_was_applied():
    counter = client(FakeHandle(delay_s=0.3), timeout_s=0.1)
    with pytest.raises(OrganTimeout) as raised:
        await counter.add(1)
    assert "nothing was applied" not in str(raised.value)
