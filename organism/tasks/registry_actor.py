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
import contextlib
import dataclasses
import logging
import time
import uuid
from collections import deque
from pathlib import Path

import ray

from contracts.audit import AuditAction, AuditPage, AuditStamp
from contracts.refusals import Refusal, RegistryUnavailable
from contracts.registry import (
    ActiveInstance,
    ControlPlane,
    EpochRotation,
    HeartbeatReply,
    InstanceReport,
    InstanceStatus,
    Registry,
    RegistrySnapshot,
)
from contracts.registry_feed import (
    LEASE_S,
    InstanceChange,
    RegistryUpdate,
    RegistryView,
    Subscriber,
    ViewVersion,
)
from contracts.routing_table import RouteKey, Rule, RuleTable
from organism.detached import Versioned, current, get_or_create_detached, kill
from organism.metrics import RegistryMetrics
from organism.settings import OrganismSettings
from organism.state import audit
from organism.state.locate import open_store
from organism.state.store import DocumentStore, Put
from organism.tasks import registry_documents as documents
from organism.tasks.registry_documents import RegistryRecord
from organism.tasks.registry_state import RegistryState, format_epoch
from organism.tasks.subscribers import Subscribers
from servekit.actors import actor_client

logger = logging.getLogger(__name__)

CHANGES_KEPT = 1024  # a subscriber further behind than this resyncs
SWEEP_EVERY_S = 1.0
STORE_POLL_S = 1.0


class RuntimeRegistry(Versioned):
    def __init__(self, namespace: str, state_dir: str, heartbeat_timeout_s: float, known_logical_ids: list[str],
                 store: DocumentStore | None = None) -> None:
        self._store = store or open_store("registry", namespace, Path(state_dir))
        # with a predecessor (state in the store), its leases must lapse before a change is acknowledged
        predecessor = bool(self._store.load(documents.META))
        stored = documents.load(self._store)
        self._state = RegistryState(stored.epoch_counter, heartbeat_timeout_s, time.time)
        self._rules = RuleTable(stored.rules)
        self._version = stored.control_version
        self._known_logical_ids = set(known_logical_ids)
        self._boot, self._grace_until = uuid.uuid4().hex[:8], time.monotonic() + (LEASE_S if predecessor else 0.0)
        self._generation = 0
        self._refresh_generation = 0
        self._log: deque[tuple[int, tuple[InstanceChange, ...]]] = deque(maxlen=CHANGES_KEPT)
        self._changed = asyncio.Event()
        self._subscribers = Subscribers(time.monotonic)
        self._write_lock = asyncio.Lock()
        loop = asyncio.get_event_loop()
        self._tasks = [loop.create_task(self._prune_forever()), loop.create_task(self._sweep_forever()),
                       loop.create_task(self._follow_store_forever())]

    # --- views for OrganismManager replicas -------------------------------------------
    def view(self) -> RegistryView:
        return RegistryView(
            ViewVersion(self._boot, self._generation),
            self._state.epoch,
            tuple(self._rules.rules()),
            self._refresh_generation,
            self._version,
        )

    async def watch(self, known: ViewVersion, timeout_s: float, subscriber: Subscriber | None = None) -> RegistryUpdate:
        """Answer as soon as there is a version newer than `known` (or at timeout): the view and
        the instance changes since `known`, or a resync when they are no longer all here. The
        call is also `subscriber`'s acknowledgement of the control-plane version it has applied."""
        if subscriber is not None:
            self._acknowledged(subscriber)
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

    # --- acknowledgements -------------------------------------------------------------
    def _acknowledged(self, subscriber: Subscriber) -> None:
        self._subscribers.seen(subscriber, self._version)
        if subscriber.applied > self._version:  # this registry's state is older than what replicas applied
            asyncio.get_running_loop().create_task(self._recover_version(subscriber.applied))

    async def await_applied(self, version: int, bound_s: float) -> list[str]:
        """Wait until every live replica has applied `version`, at most `bound_s`; the late ones. A new
        registry first lets the leases its predecessor granted lapse: a replica it has not heard of yet
        may still answer from them."""
        return await self._subscribers.wait_applied(version, bound_s, self._grace_until)

    async def control_plane(self) -> ControlPlane:
        return ControlPlane(self._version, tuple(self._subscribers.reports(self._version)))

    # --- organs ---------------------------------------------------------------------
    def register(
        self, instance_id: str, logical_id: str, actor_name: str, node_id: str | None, status: str
    ) -> str:
        epoch = self._state.register(instance_id, logical_id, actor_name, node_id, InstanceStatus(status)).epoch
        self._publish_instance_changes()
        return epoch

    async def set_status(self, instance_id: str, status: str) -> bool:
        """An organ's status; draining and stopping are changes of the control plane (a new version)."""
        if InstanceStatus(status) in (InstanceStatus.DRAINING, InstanceStatus.DEAD):
            await self._commit(lambda stored: (stored, []))
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

    def active_instances(self, logical_ids: list[str]) -> dict[str, ActiveInstance | None]:
        return {logical_id: self.active_instance(logical_id) for logical_id in logical_ids}

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

    # --- changes: each one a new control-plane version, written with it ---------------------
    async def _commit(self, change: documents.Change) -> RegistryRecord | Refusal:
        """Apply `change` to the state as the store holds it, with the next version; memory follows."""
        async with self._write_lock:
            record = await asyncio.to_thread(documents.commit, self._store, change, self._version)
            if not isinstance(record, Refusal):
                self._adopt(record)
            return record

    def _adopt(self, record: RegistryRecord) -> None:
        """Take a record the store holds: its rules, epoch and version, published."""
        rotated = record.epoch_counter != self._state.epoch_counter
        self._rules, self._version = RuleTable(record.rules), record.control_version
        self._state.epoch_counter = record.epoch_counter
        self._subscribers.advanced(self._version)
        self._publish(tuple(self._state.active_changes()) if rotated else ())

    async def rotate_epoch(self, stamp: AuditStamp) -> EpochRotation:
        previous = self._state.epoch

        def rotate(stored: RegistryRecord) -> tuple[RegistryRecord, list[Put]]:
            counter = stored.epoch_counter + 1
            entry = audit.entry(stamp, AuditAction.EPOCH_ROTATE, None, time.time(), format_epoch(stored.epoch_counter),
                                format_epoch(counter))
            return dataclasses.replace(stored, epoch_counter=counter), [audit.put(entry)]

        await self._commit(rotate)
        logger.info("epoch rotated from %s to %s by %s", previous, self._state.epoch, stamp.subject)
        return EpochRotation(previous, self.view())

    async def change_rules(self, add: list[Rule], remove: list[RouteKey], stamp: AuditStamp) -> RegistryView | Refusal:
        """Apply a rule change all or nothing: the new view, or the refusal naming every problem."""
        def change(stored: RegistryRecord) -> tuple[RegistryRecord, list[Put]] | Refusal:
            table = RuleTable(stored.rules).with_change(add, remove, self._known_logical_ids)
            if isinstance(table, Refusal):
                return table
            diff = {"add": [documents.rule_doc(r) for r in add], "remove": [{"task_type": t, "domain": d} for t, d in remove]}
            entry = audit.entry(stamp, AuditAction.RULES_CHANGE, None, time.time(), after=diff)
            return dataclasses.replace(stored, rules=tuple(table.rules())), [audit.put(entry)]

        outcome = await self._commit(change)
        return outcome if isinstance(outcome, Refusal) else self.view()

    async def request_refresh(self, stamp: AuditStamp) -> RegistryView:
        entry = audit.entry(stamp, AuditAction.ROUTING_REFRESH, None, time.time())
        self._refresh_generation += 1
        await self._commit(lambda stored: (stored, [audit.put(entry)]))
        return self.view()

    async def advance(self, reason: str) -> RegistryView:
        await self._commit(lambda stored: (stored, []))
        logger.info("control plane at version %d: %s", self._version, reason)
        return self.view()

    async def _recover_version(self, applied: int) -> None:
        """Replicas have applied a version above this registry's (its state was restored from an older
        backup): jump above it, so versions never go back, and make every replica drop what it holds."""
        if applied <= self._version:
            return
        logger.warning("the stored control-plane version %d is below %d that replicas applied: restored from an"
                       " older state? continuing above it", self._version, applied)
        self._refresh_generation += 1
        await self._commit(lambda stored: (dataclasses.replace(stored, control_version=applied), []))

    def audit_page(self, before: str | None, limit: int, action: str | None, subject: str | None) -> AuditPage:
        return audit.page(self._store, before, limit, action, subject)

    async def _follow_store_forever(self) -> None:
        """Another registry on the same database (an upgrade's second cluster) may change it: take its changes."""
        while True:
            await asyncio.sleep(STORE_POLL_S)
            with contextlib.suppress(Exception):  # the database away: the next round looks again
                stored = await asyncio.to_thread(documents.load, self._store)
                if stored.control_version > self._version:
                    async with self._write_lock:
                        if stored.control_version > self._version:
                            self._refresh_generation += 1
                            self._adopt(stored)

    async def _sweep_forever(self) -> None:
        """Instances do not announce going silent: notice it within a second. Export the control plane's lag."""
        metrics = RegistryMetrics() if ray.is_initialized() else None
        reported: set[tuple[str, str]] = set()
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            self._publish_instance_changes()
            if metrics is not None:
                metrics.version.set(self._version)
                reported = self._subscribers.export_lag(metrics.replica_lag, self._version, reported)

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
