"""HTTP bodies of the organism's task-routing admin routes (rules, registry, refresh).

The bodies the coordinator shares with the organism (resolve, execute) are in
`contracts.wire`.
"""

from pydantic import BaseModel, ConfigDict, Field

from contracts.bounds import Domain, TaskType
from contracts.wire import MAX_BULK_ITEMS, RuleIn


class RuleRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task_type: TaskType
    domain: Domain = None


class RulesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"add": [{"task_type": "graph_embed", "domain": "facts", "logical_id": "graph_dispatcher"}], "remove": []}]})
    add: list[RuleIn] = Field(default_factory=list, max_length=MAX_BULK_ITEMS)
    remove: list[RuleRef] = Field(default_factory=list, max_length=MAX_BULK_ITEMS)


class RuleOut(BaseModel):
    task_type: str
    domain: str | None
    logical_id: str


class CategoryOut(BaseModel):
    pattern: str
    logical_id: str


class RulesView(BaseModel):
    rules: list[RuleOut]
    categories: list[CategoryOut]
    fallback: str


class MovedOut(BaseModel):
    task_type: str
    domain: str | None
    before: str = Field(description="the logical id the rules pick now")
    after: str = Field(description="the logical id they would pick after the change")
    resolved_from: str = Field(description="which step would decide: domain, task, default (a category), fallback")


class RulesPreview(BaseModel):
    dry_run: bool = True
    sampled: int = Field(description="recently resolved keys this replica compared (at most 1,000)")
    moved: list[MovedOut] = Field(description="those the change would send to another logical id, newest first")
    rules: RulesView = Field(description="the table as the change would leave it")


class InstanceOut(BaseModel):
    instance_id: str
    logical_id: str
    epoch: str
    status: str
    actor_name: str
    node_id: str | None
    started_at: float
    last_heartbeat: float
    active: bool


class RegistryOut(BaseModel):
    epoch: str
    heartbeat_timeout_s: float
    instances: list[InstanceOut]


class EpochRotated(BaseModel):
    previous_epoch: str
    epoch: str


class RefreshResponse(BaseModel):
    cleared_entries: int


class ReplicaOut(BaseModel):
    name: str = Field(description="the replica: its application, deployment and replica id")
    kind: str = Field(description="organism or coordinator")
    applied: int = Field(description="the control-plane version it has applied")
    lag_versions: int
    lag_s: float = Field(description="how long it has been behind the current version (0 when it is not)")
    seen_s_ago: float = Field(description="when it last asked the registry for news")


class ControlPlaneOut(BaseModel):
    version: int = Field(description="the control plane's current version")
    replicas: list[ReplicaOut]
