"""The registry actor's class restores epoch and rules from its store (no cluster needed)."""

import asyncio

from contracts.audit import AuditStamp
from contracts.refusals import Refusal
from contracts.registry import ActiveInstance
from contracts.registry_feed import InstanceChange, ViewVersion
from contracts.routing_table import Rule
from organism.tasks.registry_actor import RuntimeRegistry

OPS = AuditStamp("ops", "admin", "corr-1")


async def test_epoch_and_rules_survive_a_new_registry_on_the_same_store(tmp_path):
    db = str(tmp_path)
    organs = ["utility_organ_1", "graph_dispatcher"]
    first = RuntimeRegistry("t", db, 15.0, organs)
    start_epoch = first.view().epoch
    rotated = await first.rotate_epoch(OPS)
    kept = Rule("kept", "d", "graph_dispatcher")
    view = await first.change_rules([kept], [], OPS)
    assert kept in view.rules and view == first.view()
    rejected = await first.change_rules([Rule("x", None, "nobody")], [], OPS)
    assert isinstance(rejected, Refusal)
    assert rejected.details == [{"field": "add.0.logical_id", "problem": "no organ is configured for logical id 'nobody'"}]

    second = RuntimeRegistry("t", db, 15.0, organs)
    view = second.view()
    assert view.epoch == rotated.view.epoch != start_epoch
    assert kept in view.rules
    assert not any(r.task_type == "x" for r in view.rules)
    assert view.version != first.view().version  # a restart is a new view for followers


async def test_watch_answers_at_once_for_another_boot_and_waits_for_a_change(tmp_path):
    registry = RuntimeRegistry("t", str(tmp_path), 15.0, ["utility_organ_1"])
    current = registry.view().version
    other_boot = await registry.watch(ViewVersion("stale", 0), 5.0)
    assert other_boot.view.version == current and other_boot.resync
    waiter = asyncio.create_task(registry.watch(current, 5.0))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    await registry.rotate_epoch(OPS)
    assert (await asyncio.wait_for(waiter, 1.0)).view.version != current


async def test_the_feed_tells_which_instances_became_active_or_stopped_being(tmp_path):
    registry = RuntimeRegistry("t", str(tmp_path), 15.0, ["utility_organ_1"])
    start = registry.view().version
    registry.register("u-1", "utility_organ_1", "organ:utility_organ_1:0", None, "starting")
    await registry.set_status("u-1", "alive")
    await registry.set_status("u-1", "draining")  # a control-plane change too: one more version of the view
    update = await registry.watch(start, 1.0)
    assert update.instances == (InstanceChange("utility_organ_1", "u-1", True), InstanceChange("utility_organ_1", "u-1", False))
    assert not update.resync and update.view.version.generation == start.generation + 3
    assert update.view.control_version == 1


async def test_rotation_answers_the_new_view_with_it(tmp_path):
    registry = RuntimeRegistry("t", str(tmp_path), 15.0, ["utility_organ_1"])
    previous = registry.view().epoch
    rotated = await registry.rotate_epoch(OPS)
    assert rotated.view == registry.view() and rotated.previous_epoch == previous != rotated.view.epoch


async def test_rotations_rule_changes_and_refreshes_are_audited_with_who_and_what(tmp_path):
    registry = RuntimeRegistry("t", str(tmp_path), 15.0, ["utility_organ_1"])
    previous = registry.view().epoch
    rotated = await registry.rotate_epoch(OPS)
    await registry.change_rules([Rule("audited", None, "utility_organ_1")], [], OPS)
    await registry.request_refresh(AuditStamp("deployer", "admin", "corr-2"))
    entries, _ = registry.audit_page(None, 10, None, None)
    assert [(e.action, e.subject, e.correlation_id) for _, e in entries] == [
        ("routing.refresh", "deployer", "corr-2"), ("rules.change", "ops", "corr-1"), ("epoch.rotate", "ops", "corr-1")]
    assert (entries[2][1].before, entries[2][1].after) == (previous, rotated.view.epoch)
    assert entries[1][1].after == {"add": [{"task_type": "audited", "domain": None, "logical_id": "utility_organ_1"}],
                                   "remove": []}
    refused = await registry.change_rules([Rule("x", None, "nobody")], [], OPS)
    assert isinstance(refused, Refusal) and len(registry.audit_page(None, 10, None, None)[0]) == 3  # no change, no entry
    assert [e.action for _, e in registry.audit_page(None, 10, "rules.", None)[0]] == ["rules.change"]


async def test_one_lookup_answers_each_id_with_its_active_instance_or_none(tmp_path):
    registry = RuntimeRegistry("t", str(tmp_path), 15.0, ["utility_organ_1", "graph_dispatcher"])
    registry.register("u-1", "utility_organ_1", "organ:utility_organ_1:0", None, "alive")
    registry.register("g-1", "graph_dispatcher", "organ:graph_dispatcher:0", None, "draining")
    answers = registry.active_instances(["utility_organ_1", "graph_dispatcher", "nobody"])
    assert answers == {"utility_organ_1": ActiveInstance("u-1", "organ:utility_organ_1:0"),
                       "graph_dispatcher": None, "nobody": None}
