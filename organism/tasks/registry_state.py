"""Runtime registry state: the epoch and the organ instances. Pure.

An instance is *active* when it is `alive`, registered in the current epoch
and its last heartbeat is younger than the heartbeat timeout. Among several
active instances of one logical id the chosen one has the freshest heartbeat,
then the oldest start, then the lowest id. Rotating the epoch makes every
instance of older epochs inactive at once; organs re-register on their next
heartbeat. Instances are soft state: the registry actor persists only the
epoch counter, and instances silent for `retention_s` are forgotten.
`active_changes` says which instances became active or stopped being so since
it was last asked, for the registry's feed of changes.
"""

from contracts.registry import HeartbeatReply, Instance, InstanceStatus
from contracts.registry_feed import InstanceChange
from servekit.clock import Clock


def format_epoch(counter: int) -> str:
    return f"epoch-{counter:06d}"


class RegistryState:
    def __init__(
        self,
        epoch_counter: int,
        heartbeat_timeout_s: float,
        clock: Clock,
        retention_s: float | None = None,
    ) -> None:
        self.epoch_counter = epoch_counter
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.retention_s = retention_s if retention_s is not None else 4 * heartbeat_timeout_s
        self._clock = clock
        self._instances: dict[str, Instance] = {}
        self._by_logical_id: dict[str, set[str]] = {}
        self._published_active: dict[str, str] = {}  # instance id -> logical id, as last told to subscribers

    @property
    def epoch(self) -> str:
        return format_epoch(self.epoch_counter)

    def register(
        self,
        instance_id: str,
        logical_id: str,
        actor_name: str,
        node_id: str | None,
        status: InstanceStatus = InstanceStatus.STARTING,
    ) -> Instance:
        """Register (or re-register) an instance in the current epoch."""
        now = self._clock()
        previous = self._instances.get(instance_id)
        instance = Instance(
            instance_id=instance_id,
            logical_id=logical_id,
            epoch=self.epoch,
            status=status,
            actor_name=actor_name,
            node_id=node_id,
            started_at=previous.started_at if previous else now,
            last_heartbeat=now,
        )
        if previous and previous.logical_id != logical_id:
            self._forget(instance_id)
        self._instances[instance_id] = instance
        self._by_logical_id.setdefault(logical_id, set()).add(instance_id)
        return instance

    def set_status(self, instance_id: str, status: InstanceStatus) -> bool:
        instance = self._instances.get(instance_id)
        if instance is None:
            return False
        instance.status = status
        instance.last_heartbeat = self._clock()
        return True

    def heartbeat(self, instance_id: str) -> HeartbeatReply:
        instance = self._instances.get(instance_id)
        registered = (
            instance is not None
            and instance.epoch == self.epoch
            and instance.status is not InstanceStatus.DEAD
        )
        if registered:
            instance.last_heartbeat = self._clock()
        return HeartbeatReply(self.epoch, registered)

    def rotate_epoch(self) -> str:
        self.epoch_counter += 1
        return self.epoch

    def is_active(self, instance: Instance, now: float | None = None) -> bool:
        now = self._clock() if now is None else now
        return (
            instance.status is InstanceStatus.ALIVE
            and instance.epoch == self.epoch
            and now - instance.last_heartbeat < self.heartbeat_timeout_s
        )

    def active_instance(self, logical_id: str) -> Instance | None:
        now = self._clock()
        candidates = [
            self._instances[i]
            for i in self._by_logical_id.get(logical_id, ())
            if self.is_active(self._instances[i], now)
        ]
        if not candidates:
            return None
        return min(candidates, key=lambda x: (-x.last_heartbeat, x.started_at, x.instance_id))

    def active_changes(self) -> list[InstanceChange]:
        """Instances whose being active changed since the last call: registered, drained,
        stopped, silent past the timeout, revived by a heartbeat, or left behind by a rotation."""
        now = self._clock()
        active = {i.instance_id: i.logical_id for i in self._instances.values() if self.is_active(i, now)}
        changes = [
            InstanceChange(logical_id, instance_id, instance_id in active)
            for instance_id, logical_id in sorted({**self._published_active, **active}.items())
            if (instance_id in active) != (instance_id in self._published_active)
        ]
        self._published_active = active
        return changes

    def instances(self) -> list[Instance]:
        return sorted(self._instances.values(), key=lambda x: (x.logical_id, x.instance_id))

    def prune(self) -> list[str]:
        """Forget instances silent for longer than the retention period."""
        cutoff = self._clock() - self.retention_s
        expired = [i.instance_id for i in self._instances.values() if i.last_heartbeat < cutoff]
        for instance_id in expired:
            self._forget(instance_id)
        return expired

    def _forget(self, instance_id: str) -> None:
        instance = self._instances.pop(instance_id)
        siblings = self._by_logical_id[instance.logical_id]
        siblings.discard(instance_id)
        if not siblings:
            del self._by_logical_id[instance.logical_id]
