"""The active instances the coordinator knows: learnt in the background, trusted under the lease, forgotten on changes."""

import asyncio

import pytest

from coordinator.instances import KnownInstances


class Registry:
    """Answers lookups when told to (`answer`), so a test can interleave changes with them."""

    def __init__(self, actor_name: str | None = "organ-a", failure: Exception | None = None) -> None:
        self.actor_name, self.failure = actor_name, failure
        self.asked: list[str] = []
        self.gate = asyncio.Event()

    async def lookup(self, logical_id: str) -> str | None:
        self.asked.append(logical_id)
        await self.gate.wait()
        if self.failure:
            raise self.failure
        return self.actor_name


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


@pytest.mark.parametrize(
    "case, registry, trusted, change_while_asking, expected",
    [
        ("learnt, then known", Registry(), True, None, "organ-a"),
        ("the registry knows no active instance", Registry(actor_name=None), True, None, None),
        ("the registry failed: nothing known", Registry(failure=ConnectionError("gone")), True, None, None),
        ("a change of that logical id while asking: not kept", Registry(), True, ["graph_dispatcher"], None),
        ("a change of another logical id while asking: kept", Registry(), True, ["other"], "organ-a"),
        ("an epoch change while asking: not kept", Registry(), True, "everything", None),
    ],
)
async def test_learning(case, registry, trusted, change_while_asking, expected):
    instances = KnownInstances(registry.lookup, trusted=lambda: trusted)
    assert instances.actor_name("graph_dispatcher") is None  # the first step goes through the organism
    await settle()
    if change_while_asking is not None:
        instances.forget(None if change_while_asking == "everything" else change_while_asking)
    registry.gate.set()
    await settle()
    assert instances.actor_name("graph_dispatcher") == expected


async def test_one_lookup_at_a_time_per_logical_id():
    registry = Registry()
    instances = KnownInstances(registry.lookup, trusted=lambda: True)
    for _ in range(5):
        instances.actor_name("graph_dispatcher")
    await settle()
    assert registry.asked == ["graph_dispatcher"]
    registry.gate.set()


@pytest.mark.parametrize("forgotten, expected", [(["graph_dispatcher"], None), (["other"], "organ-a"), (None, None)])
async def test_forgetting(forgotten, expected):
    registry = Registry()
    registry.gate.set()
    instances = KnownInstances(registry.lookup, trusted=lambda: True)
    instances.actor_name("graph_dispatcher")
    await settle()
    instances.forget(forgotten)
    assert instances.actor_name("graph_dispatcher") == expected


async def test_nothing_is_trusted_without_the_lease():
    registry = Registry()
    registry.gate.set()
    lease = {"holds": True}
    instances = KnownInstances(registry.lookup, trusted=lambda: lease["holds"])
    instances.actor_name("graph_dispatcher")
    await settle()
    lease["holds"] = False
    assert instances.actor_name("graph_dispatcher") is None
    lease["holds"] = True
    assert instances.actor_name("graph_dispatcher") == "organ-a"
