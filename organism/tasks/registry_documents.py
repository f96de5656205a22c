"""How the runtime registry's durable state is stored, and read back: the one home of its shape. Pure.

Three documents in the `meta` collection of the registry's store: the epoch
counter, the editable rules (a list of `{"task_type", "domain",
"logical_id"}`) and the control-plane version. Instances are soft state and
never stored; audit entries go to the trail (`state.audit`). Rules are read
back through the same model a rule change is validated with
(`contracts.wire.RuleIn`), so a rule stored by an older version is
normalized like a new one.

A change reads what it changes inside its own transaction (`stored`), so two
registries on one database (two clusters during an upgrade) never lose each
other's updates: PostgreSQL locks the rows it read, SQLite has one writer.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pydantic import TypeAdapter

from contracts.refusals import Refusal
from contracts.routing_table import DEFAULT_RULES, Rule
from contracts.wire import RuleIn
from organism.state.store import DocumentStore, Put, Transaction

META = "meta"
FIRST_EPOCH_COUNTER = 1
_STORED_RULES = TypeAdapter(list[RuleIn])


@dataclass(frozen=True, slots=True)
class RegistryRecord:
    epoch_counter: int
    rules: tuple[Rule, ...]
    control_version: int


def rule_doc(rule: Rule) -> dict[str, Any]:
    return {"task_type": rule.task_type, "domain": rule.domain, "logical_id": rule.logical_id}


def puts(record: RegistryRecord) -> list[Put]:
    return [
        (META, "epoch_counter", record.epoch_counter),
        (META, "rules", [rule_doc(r) for r in record.rules]),
        (META, "control_version", record.control_version),
    ]


def _record(epoch_counter: Any, rules: Any, control_version: Any) -> RegistryRecord:
    stored = _STORED_RULES.validate_python(rules if rules is not None else [rule_doc(r) for r in DEFAULT_RULES])
    return RegistryRecord(
        epoch_counter if epoch_counter is not None else FIRST_EPOCH_COUNTER,
        tuple(Rule(r.task_type, r.domain, r.logical_id) for r in stored),
        control_version or 0,
    )


def stored(tx: Transaction) -> RegistryRecord:
    """What the store holds, read (and locked) inside a change's transaction; the defaults where nothing is."""
    return _record(tx.get(META, "epoch_counter"), tx.get(META, "rules"), tx.get(META, "control_version"))


Change = Callable[[RegistryRecord], "tuple[RegistryRecord, list[Put]] | Refusal"]


def commit(store: DocumentStore, change: Change, version: int) -> RegistryRecord | Refusal:
    """Apply `change` to what the store holds, in one transaction (so a second registry on the
    database loses nothing), at the next control-plane version after both the stored one and
    `version`; the record written, or the refusal (nothing written)."""
    with store.transaction() as tx:
        outcome = change(stored(tx))
        if isinstance(outcome, Refusal):
            return outcome
        record, extra = outcome
        record = replace(record, control_version=max(record.control_version, version) + 1)
        tx.write([*puts(record), *extra])
        return record


def load(store: DocumentStore) -> RegistryRecord:
    """What the store holds; a new store is given the first epoch and the default rules first."""
    meta: dict[str, Any] = store.load(META)
    record = _record(meta.get("epoch_counter"), meta.get("rules"), meta.get("control_version"))
    if not {"epoch_counter", "rules", "control_version"} <= set(meta):
        store.write(puts=[put for put in puts(record) if put[1] not in meta])
    return record
