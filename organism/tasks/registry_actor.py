"""RuntimeRegistry: the detached named actor that owns epoch, rules and instances.

It implements the registry's contract (`contracts.registry`) and adapts
`RegistryState` and `RuleTable` to Ray: durable state (the epoch counter and
the editable rules, stored as `registry_documents` says) is written to the
store *before* memory changes, so a restarted actor (`max_restarts=-1`) comes back with both;
instances are soft state that organs rebuild with their next heartbeat.

It publishes every change that can alter a routing answer as a new version
of its view (`contracts.registry_feed`): rotations, rule changes, refreshes,
and instances becoming active or not (a status, a heartbeat, or a sweep each
second that notices instances gone silent). OrganismManager replicas, the
coordinator's replicas and the organs long-poll `watch`, so a change made
through one replica reaches every subscriber within milliseconds, with no
registry round trip per request.
"""

import asyncio
import logging
import time
import uuid
from collections import deque
from pathlib import Path

import ray

from contracts.audit import AuditPage, AuditStamp
from contracts.refusals import Refusal, RegistryUnavailable
from contracts.registry import (
    ActiveInstance,
    EpochRotation,
    HeartbeatReply,
    InstanceReport,
    InstanceStatus,
    Registry,
    RegistrySnapshot,
)
from contracts.registry_feed import InstanceChange, RegistryUpdate, RegistryView, ViewVersion
from contracts.routing_table import RouteKey, Rule, RuleTable
from organism.detached import Versioned, current, get_or_create_detached, kill
from organism.settings import OrganismSettings
from organism.state import audit
from organism.state.locate import open_store
from organism.state.store import DocumentStore
from organism.tasks import registry_documents as documents
from organism.tasks.registry_state import RegistryState, format_epoch
from servekit.actors import actor_client

logger = logging.getLogger(__name__)

CHANGES_KEPT = 1024  # a subscriber further behind than this resyncs
SWEEP_EVERY_S = 1.0


class RuntimeRegistry(Versioned):
    def __init__(self, namespace: str, state_dir: str, heartbeat_timeout_s: float, known_logical_ids: list[str],
                 store: DocumentStore | None = None) -> None:
        self._store = store or open_store("registry", namespace, Path(state_dir))
        stored = documents.load(self._store)
        self._state = RegistryState(stored.epoch_counter, heartbeat_timeout_s, time.time)
        self._rules = RuleTable(stored.rules)
        self._known_logical_ids = set(known_logical_ids)
        self._boot = uuid.uuid4().hex[:8]
        self._generation = 0
        self._refresh_generation = 0
        self._log: deque[tuple[int, tuple[InstanceChange, ...]]] = deque(maxlen=CHANGES_KEPT)
        self._changed = asyncio.Event()
        self._write_lock = asyncio.Lock()
        loop = asyncio.get_event_loop()
        self._tasks = [loop.create_task(self._prune_forever()), loop.create_task(self._sweep_forever())]

    # --- views for OrganismManager replicas -------------------------------------------
    def view(self) -> RegistryView:
        return RegistryView(
            ViewVersion(self._boot, self._generation),
            self._state.epoch,
            tuple(self._rules.rules()),
            self._refresh_generation,
        )

    async def watch(self, known: ViewVersion, timeout_s: float) -> RegistryUpdate:
        """Answer as soon as there is a version newer than `known` (or at timeout): the view and
        the instance changes since `known`, or a resync when they are no longer all here."""
        if known == ViewVersion(self._boot, self._generation):
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), timeout_s)
            except TimeoutError:
                pass
        oldest = self._log[0][0] if self._log else self._generation + 1
        if known.boot != self._boot or known.generation < oldest - 1:
            return RegistryUpdate(self.view(), resync=known.generation != self._generation or known.boot != self._boot)
        changes = tuple(c for generation, batch in self._log if generation > known.generation for c in batch)
        return RegistryUpdate(self.view(), changes)

    def _publish(self, changes: tuple[InstanceChange, ...] = ()) -> None:
        self._generation += 1
        self._log.append((self._generation, changes))
        self._changed.set()
        self._changed = asyncio.Event()

    def _publish_instance_changes(self) -> None:
        if changes := self._state.active_changes():
            self._publish(tuple(changes))

    # --- organs ---------------------------------------------------------------------
    def register(
        self, instance_id: str, logical_id: str, actor_name: str, node_id: str | None, status: str
    ) -> str:
        epoch = self._state.register(instance_id, logical_id, actor_name, node_id, InstanceStatus(status)).epoch
        self._publish_instance_changes()
        return epoch

    def set_status(self, instance_id: str, status: str) -> bool:
        known = self._state.set_status(instance_id, InstanceStatus(status))
        self._publish_instance_changes()
        return known

    def heartbeat(self, instance_id: str) -> HeartbeatReply:
        reply = self._state.heartbeat(instance_id)
        self._publish_instance_changes()  # a heartbeat after a silence makes an instance active again
        return reply

    # --- lookups --------------------------------------------------------------------
    def active_instance(self, logical_id: str) -> ActiveInstance | None:
        instance = self._state.active_instance(logical_id)
        return ActiveInstance(instance.instance_id, instance.actor_name) if instance else None

    def snapshot(self) -> RegistrySnapshot:
        now = time.time()
        return RegistrySnapshot(
            self._state.epoch,
            self._state.heartbeat_timeout_s,
            tuple(InstanceReport(i, self._state.is_active(i, now)) for i in self._state.instances()),
        )

    def set_known_logical_ids(self, logical_ids: list[str]) -> None:
        """The organs of the current deployment (a rule may only name one of them)."""
        self._known_logical_ids = set(logical_ids)

    # --- admin ----------------------------------------------------------------------
    async def rotate_epoch(self, stamp: AuditStamp) -> EpochRotation:
        async with self._write_lock:
            previous, now = self._state.epoch, time.time()
            counter = self._state.epoch_counter + 1
            entry = audit.entry(stamp, "epoch.rotate", None, now, previous, format_epoch(counter))
            await asyncio.to_thread(self._store.write, puts=[documents.epoch_counter_put(counter), audit.put(entry)])
            self._state.rotate_epoch()  # only once the new counter is durable
            self._publish(tuple(self._state.active_changes()))
            logger.info("epoch rotated from %s to %s by %s", previous, self._state.epoch, stamp.subject)
            return EpochRotation(previous, self.view())

    async def change_rules(self, add: list[Rule], remove: list[RouteKey], stamp: AuditStamp) -> RegistryView | Refusal:
        """Apply a rule change all or nothing: the new view, or the refusal naming every problem."""
        async with self._write_lock:
            table = self._rules.with_change(add, remove, self._known_logical_ids)
            if isinstance(table, Refusal):
                return table
            change = {"add": [documents.rule_doc(r) for r in add], "remove": [{"task_type": t, "domain": d} for t, d in remove]}
            entry = audit.entry(stamp, "rules.change", None, time.time(), after=change)
            await asyncio.to_thread(self._store.write, puts=[documents.rules_put(table.rules()), audit.put(entry)])
            self._rules = table
            self._publish()
            return self.view()

    async def request_refresh(self, stamp: AuditStamp) -> RegistryView:
        entry = audit.entry(stamp, "routing.refresh", None, time.time())
        await asyncio.to_thread(self._store.write, puts=[audit.put(entry)])
        self._refresh_generation += 1
        self._publish()
        return self.view()

    def audit_page(self, before: str | None, limit: int, action: str | None, subject: str | None) -> AuditPage:
        return audit.page(self._store, before, limit, action, subject)

    async def _sweep_forever(self) -> None:
        """Instances do not announce going silent: notice it within a second."""
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            self._publish_instance_changes()

    async def _prune_forever(self) -> None:
        audited_at = 0.0
        while True:
            await asyncio.sleep(self._state.heartbeat_timeout_s)
            expired = self._state.prune()
            if expired:
                logger.info("forgot silent instances %s", expired)
            if time.time() - audited_at > 3600:
                audited_at = time.time()
                await asyncio.to_thread(audit.forget_old, self._store, audited_at)


def get_or_create_registry(settings: OrganismSettings) -> ray.actor.ActorHandle:
    return get_or_create_detached(
        RuntimeRegistry, settings.registry_actor_name, settings.namespace, settings.namespace, str(settings.state_path),
        settings.heartbeat_timeout_s, sorted(settings.organs), resources=settings.state_actor_resources(),
    )


async def connect_registry(settings: OrganismSettings) -> tuple[Registry, ray.actor.ActorHandle]:
    """The registry (started, or replaced when it runs other code), as its contract, and its handle
    (organs are given the handle)."""
    handle = await current(lambda: get_or_create_registry(settings), kill)
    registry = actor_client(lambda: handle, Registry, settings.registry_call_timeout_s, RegistryUnavailable,
                            "the runtime registry")
    return registry, handle
