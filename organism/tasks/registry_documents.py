"""How the runtime registry's durable state is stored, and read back: the one home of its shape. Pure.

Two documents in the `meta` collection of the registry's store: the epoch
counter and the editable rules (a list of `{"task_type", "domain",
"logical_id"}`). Instances are soft state and never stored; audit entries go
to the trail (`state.audit`). Rules are read back through the same model a
rule change is validated with (`contracts.wire.RuleIn`), so a rule stored by
an older version is normalized like a new one.
"""

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from contracts.routing_table import DEFAULT_RULES, Rule
from contracts.wire import RuleIn
from organism.state.store import DocumentStore, Put

META = "meta"
FIRST_EPOCH_COUNTER = 1
_STORED_RULES = TypeAdapter(list[RuleIn])


@dataclass(frozen=True, slots=True)
class RegistryRecord:
    epoch_counter: int
    rules: tuple[Rule, ...]


def epoch_counter_put(counter: int) -> Put:
    return (META, "epoch_counter", counter)


def rule_doc(rule: Rule) -> dict[str, Any]:
    return {"task_type": rule.task_type, "domain": rule.domain, "logical_id": rule.logical_id}


def rules_put(rules: list[Rule]) -> Put:
    return (META, "rules", [rule_doc(r) for r in rules])


def load(store: DocumentStore) -> RegistryRecord:
    """What the store holds; a new store is given the first epoch and the default rules first."""
    meta: dict[str, Any] = store.load(META)
    if "epoch_counter" not in meta or "rules" not in meta:
        defaults = [epoch_counter_put(meta.get("epoch_counter", FIRST_EPOCH_COUNTER)), rules_put(list(DEFAULT_RULES))]
        store.write(puts=[put for put in defaults if put[1] not in meta])
        meta = store.load(META)
    rules = tuple(Rule(r.task_type, r.domain, r.logical_id) for r in _STORED_RULES.validate_python(meta["rules"]))
    return RegistryRecord(meta["epoch_counter"], rules)
