"""The registry's control-plane version: every change advances it durably, acknowledgements, recovery."""

import asyncio

import pytest

from contracts.audit import AuditStamp
from contracts.registry_feed import Subscriber, ViewVersion
from contracts.routing_table import Rule
from organism.state.store import InMemoryStore
from organism.tasks.registry_actor import RuntimeRegistry

OPS = AuditStamp("ops", "admin", "corr-1")
ORGANS = ["utility_organ_1", "graph_dispatcher"]


pytestmark = pytest.mark.usefixtures("registry_without_grace")


async def test_every_kind_of_change_advances_the_version_durably():
    store = InMemoryStore()
    registry = RuntimeRegistry("t", "", 15.0, ORGANS, store=store)
    versions = [registry.view().control_version]
    versions.append((await registry.change_rules([Rule("a", None, "graph_dispatcher")], [], OPS)).control_version)
    versions.append((await registry.rotate_epoch(OPS)).view.control_version)
    versions.append((await registry.request_refresh(OPS)).control_version)
    versions.append((await registry.advance("dynamic config patched")).control_version)
    registry.register("i-1", "graph_dispatcher", "organ:graph_dispatcher:0", None, "alive")
    await registry.set_status("i-1", "draining")
    versions.append(registry.view().control_version)
    assert versions == [0, 1, 2, 3, 4, 5]
    assert RuntimeRegistry("t", "", 15.0, ORGANS, store=store).view().control_version == 5  # it survives a restart


async def test_a_refused_change_advances_nothing():
    registry = RuntimeRegistry("t", "", 15.0, ORGANS, store=InMemoryStore())
    await registry.change_rules([Rule("a", None, "nobody")], [], OPS)
    assert registry.view().control_version == 0


async def test_concurrent_writers_get_distinct_ordered_versions_and_lose_no_rule():
    registry = RuntimeRegistry("t", "", 15.0, ORGANS, store=InMemoryStore())
    views = await asyncio.gather(*(registry.change_rules([Rule(f"t{n}", None, "graph_dispatcher")], [], OPS)
                                   for n in range(20)))
    assert sorted(v.control_version for v in views) == list(range(1, 21))
    assert {f"t{n}" for n in range(20)} <= {r.task_type for r in registry.view().rules}


async def test_two_registries_on_one_store_lose_nothing_of_each_other():
    store = InMemoryStore()
    first, second = (RuntimeRegistry("t", "", 15.0, ORGANS, store=store) for _ in range(2))
    await first.change_rules([Rule("from_first", None, "graph_dispatcher")], [], OPS)
    await second.change_rules([Rule("from_second", None, "graph_dispatcher")], [], OPS)  # read from the store
    assert {"from_first", "from_second"} <= {r.task_type for r in second.view().rules}
    assert second.view().control_version == 2


async def test_a_change_is_acknowledged_once_every_live_replica_has_applied_it():
    registry = RuntimeRegistry("t", "", 15.0, ORGANS, store=InMemoryStore())
    for name in ("organism/a", "coordinator/b"):
        registry._acknowledged(Subscriber(name, name.split("/")[0], 0))
    version = (await registry.advance("test")).control_version
    waiting = asyncio.create_task(registry.await_applied(version, 5.0))
    await asyncio.sleep(0.05)
    registry._acknowledged(Subscriber("organism/a", "organism", version))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await registry.watch(ViewVersion("elsewhere", 0), 0.0, Subscriber("coordinator/b", "coordinator", version))
    assert await asyncio.wait_for(waiting, 1.0) == []


async def test_a_replica_that_does_not_apply_it_within_the_bound_is_named():
    registry = RuntimeRegistry("t", "", 15.0, ORGANS, store=InMemoryStore())
    registry._acknowledged(Subscriber("organism/slow", "organism", 0))
    version = (await registry.advance("test")).control_version
    assert await registry.await_applied(version, 0.2) == ["organism/slow"]
    state = await registry.control_plane()
    assert (state.version, [(r.name, r.lag_versions) for r in state.subscribers]) == (1, [("organism/slow", 1)])


async def test_a_registry_restored_from_an_older_state_continues_above_what_replicas_applied():
    registry = RuntimeRegistry("t", "", 15.0, ORGANS, store=InMemoryStore())
    generation = registry.view().version.generation
    registry._acknowledged(Subscriber("organism/a", "organism", 41))
    await asyncio.sleep(0.05)
    view = registry.view()
    assert view.control_version == 42 and view.version.generation > generation
    assert view.refresh_generation == 1  # every replica drops what it holds


async def test_a_restarted_registry_acknowledges_nothing_until_its_predecessors_leases_have_lapsed(monkeypatch):
    from organism.tasks import registry_actor

    monkeypatch.setattr(registry_actor, "LEASE_S", 0.5)
    store = InMemoryStore()
    await RuntimeRegistry("t", "", 15.0, ORGANS, store=store).advance("before the restart")
    registry = RuntimeRegistry("t", "", 15.0, ORGANS, store=store)  # restarted: its predecessor's leases may hold
    version = (await registry.advance("test")).control_version
    assert await registry.await_applied(version, 0.1) == ["replicas the previous registry knew"]
    assert await registry.await_applied(version, 1.0) == []


async def test_a_registry_on_a_new_store_has_no_predecessor_to_wait_for(monkeypatch):
    from organism.tasks import registry_actor

    monkeypatch.setattr(registry_actor, "LEASE_S", 5.0)
    registry = RuntimeRegistry("t", "", 15.0, ORGANS, store=InMemoryStore())
    assert await registry.await_applied((await registry.advance("test")).control_version, 0.1) == []
