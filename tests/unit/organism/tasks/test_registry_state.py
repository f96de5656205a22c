from contracts.registry import InstanceStatus
from organism.tasks.registry_state import RegistryState
from servekit.clock import FakeClock


def make_registry(clock: FakeClock, timeout: float = 15.0) -> RegistryState:
    return RegistryState(epoch_counter=1, heartbeat_timeout_s=timeout, clock=clock)


def register_alive(registry: RegistryState, instance_id: str, logical_id: str = "organ") -> None:
    registry.register(instance_id, logical_id, f"actor-{instance_id}", "node")
    registry.set_status(instance_id, InstanceStatus.ALIVE)


def test_starting_instance_is_not_active_until_alive():
    clock = FakeClock()
    registry = make_registry(clock)
    registry.register("i1", "organ", "a1", None)
    assert registry.active_instance("organ") is None
    registry.set_status("i1", InstanceStatus.ALIVE)
    assert registry.active_instance("organ").instance_id == "i1"


def test_heartbeat_timeout_makes_instance_inactive_and_heartbeat_revives():
    clock = FakeClock()
    registry = make_registry(clock, timeout=15)
    register_alive(registry, "i1")
    clock.advance(14.9)
    assert registry.active_instance("organ") is not None
    clock.advance(0.1)
    assert registry.active_instance("organ") is None
    assert registry.heartbeat("i1").registered
    assert registry.active_instance("organ").instance_id == "i1"


def test_draining_and_dead_are_not_active():
    clock = FakeClock()
    registry = make_registry(clock)
    register_alive(registry, "i1")
    registry.set_status("i1", InstanceStatus.DRAINING)
    assert registry.active_instance("organ") is None
    registry.set_status("i1", InstanceStatus.DEAD)
    assert registry.active_instance("organ") is None
    assert not registry.heartbeat("i1").registered


def test_choice_is_freshest_heartbeat_then_oldest_start_then_lowest_id():
    clock = FakeClock()
    registry = make_registry(clock)
    register_alive(registry, "b")
    clock.advance(1)
    register_alive(registry, "c")
    register_alive(registry, "a")
    # a and c heartbeat at the same instant and started together: lowest id wins.
    assert registry.active_instance("organ").instance_id == "a"
    clock.advance(1)
    registry.heartbeat("b")
    assert registry.active_instance("organ").instance_id == "b"
    clock.advance(1)
    registry.heartbeat("c")
    registry.heartbeat("a")
    # equal heartbeats, a and c started at the same time: lowest id.
    assert registry.active_instance("organ").instance_id == "a"


def test_oldest_start_breaks_heartbeat_tie():
    clock = FakeClock()
    registry = make_registry(clock)
    register_alive(registry, "z-old")
    clock.advance(5)
    register_alive(registry, "a-new")
    registry.heartbeat("z-old")
    assert registry.active_instance("organ").instance_id == "z-old"


def test_epoch_rotation_deactivates_everyone_until_reregistered():
    clock = FakeClock()
    registry = make_registry(clock)
    register_alive(registry, "i1")
    before = registry.epoch
    after = registry.rotate_epoch()
    assert after != before and after > before
    assert registry.active_instance("organ") is None
    reply = registry.heartbeat("i1")
    assert reply.epoch == after and not reply.registered
    register_alive(registry, "i1")
    assert registry.active_instance("organ").epoch == after


def test_reregistration_keeps_started_at():
    clock = FakeClock()
    registry = make_registry(clock)
    register_alive(registry, "i1")
    started = registry.instances()[0].started_at
    clock.advance(3)
    register_alive(registry, "i1")
    assert registry.instances()[0].started_at == started


def test_prune_forgets_long_silent_instances_only():
    clock = FakeClock()
    registry = make_registry(clock, timeout=10)
    register_alive(registry, "old")
    clock.advance(30)
    register_alive(registry, "fresh")
    clock.advance(11)
    assert registry.prune() == ["old"]
    assert [i.instance_id for i in registry.instances()] == ["fresh"]


def test_unknown_instance_heartbeat_asks_for_registration():
    registry = make_registry(FakeClock())
    assert not registry.heartbeat("ghost").registered
    assert not registry.set_status("ghost", InstanceStatus.ALIVE)
