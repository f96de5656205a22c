"""The routing rule table and its defaults: immutable, shared. Pure.

The organism resolves with it (rules edited at runtime, persisted by the
registry) and the coordinator routes statically with it (defaults plus
configured rules), so both sides agree on what a type means.

Rules arrive normalized (`contracts.bounds.TaskType` and `Domain`, the one
normalization); the table trusts them. Lookup order of `RuleTable.match` is
the design's steps 2-5: a
`(type, domain)` rule, a `type` rule, the first category pattern, the
fallback. Step 1 (a preferred logical id) depends on live instances and lives
in the organism's resolution.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase

from contracts.pickling import compact
from contracts.refusals import FieldProblem, Refusal, invalid

RouteKey = tuple[str, str | None]  # a normalized (type, domain): `contracts.bounds` normalizes


class ResolvedFrom(StrEnum):
    PREFERRED = "preferred"
    DOMAIN = "domain"
    TASK = "task"
    DEFAULT = "default"
    FALLBACK = "fallback"


@compact
@dataclass(frozen=True, slots=True)
class Rule:
    task_type: str
    domain: str | None
    logical_id: str

    @property
    def key(self) -> RouteKey:
        return self.task_type, self.domain


@compact
@dataclass(frozen=True, slots=True)
class Category:
    """A glob over the normalized task type, e.g. `graph_*`."""

    pattern: str
    logical_id: str


@compact
@dataclass(frozen=True, slots=True)
class Match:
    logical_id: str
    resolved_from: ResolvedFrom
    rule: str | None = None  # what matched: `type|domain`, `type`, a category's pattern; None for the fallback


GRAPH_DISPATCHER = "graph_dispatcher"
UTILITY_ORGAN = "utility_organ_1"
ACTUATOR_ORGAN = "actuator_organ_1"

DEFAULT_RULES: tuple[Rule, ...] = tuple(
    Rule(task_type, None, GRAPH_DISPATCHER)
    for task_type in (
        "graph_embed",
        "graph_rag_query",
        "graph_embed_v2",
        "graph_rag_query_v2",
        "graph_sync_nodes",
        "graph_fact_embed",
        "graph_fact_query",
    )
) + (Rule("execute", None, ACTUATOR_ORGAN),)

DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category("graph_*", GRAPH_DISPATCHER),
    Category("fact_*", UTILITY_ORGAN),
    Category("*_manage", UTILITY_ORGAN),
    Category("general_query", UTILITY_ORGAN),
    Category("health_check", UTILITY_ORGAN),
)

DEFAULT_FALLBACK = UTILITY_ORGAN


class RuleTable:
    def __init__(
        self,
        rules: Iterable[Rule] = DEFAULT_RULES,
        categories: Iterable[Category] = DEFAULT_CATEGORIES,
        fallback: str = DEFAULT_FALLBACK,
    ) -> None:
        self._rules: dict[RouteKey, str] = {r.key: r.logical_id for r in rules}
        self.categories = tuple(categories)
        self.fallback = fallback

    def match(self, task_type: str, domain: str | None) -> Match:
        """Match an already normalized pair (first hit wins)."""
        if domain is not None and (logical_id := self._rules.get((task_type, domain))):
            return Match(logical_id, ResolvedFrom.DOMAIN, f"{task_type}|{domain}")
        if logical_id := self._rules.get((task_type, None)):
            return Match(logical_id, ResolvedFrom.TASK, task_type)
        for category in self.categories:
            if fnmatchcase(task_type, category.pattern):
                return Match(category.logical_id, ResolvedFrom.DEFAULT, category.pattern)
        return Match(self.fallback, ResolvedFrom.FALLBACK)

    def rules(self) -> list[Rule]:
        return [
            Rule(task_type, domain, logical_id)
            for (task_type, domain), logical_id in sorted(
                self._rules.items(), key=lambda item: (item[0][0], item[0][1] or "")
            )
        ]

    def __len__(self) -> int:
        return len(self._rules)

    def with_change(
        self, add: Iterable[Rule], remove: Iterable[RouteKey], known_logical_ids: set[str]
    ) -> "RuleTable | Refusal":
        """A new table with `remove` applied, then `add`; all or nothing: removing a rule that
        does not exist, adding one key twice, or naming a logical id that no organ is configured
        for refuses the whole change, naming each problem."""
        problems: list[FieldProblem] = []
        rules = dict(self._rules)
        for index, key in enumerate(remove):
            if rules.pop(key, None) is None:
                problems.append(FieldProblem(f"remove.{index}", f"no rule for {_describe(key)}"))
        seen: set[RouteKey] = set()
        for index, rule in enumerate(add):
            key = rule.key
            if key in seen:
                problems.append(FieldProblem(f"add.{index}", f"{_describe(key)} is added twice"))
                continue
            if rule.logical_id not in known_logical_ids:
                problems.append(
                    FieldProblem(
                        f"add.{index}.logical_id",
                        f"no organ is configured for logical id {rule.logical_id!r}",
                    )
                )
                continue
            seen.add(key)
            rules[key] = rule.logical_id
        if problems:
            return invalid(problems)
        return RuleTable(
            (Rule(t, d, logical_id) for (t, d), logical_id in rules.items()),
            self.categories,
            self.fallback,
        )


def _describe(key: RouteKey) -> str:
    task_type, domain = key
    return f"type {task_type!r}" + (f" and domain {domain!r}" if domain else "")
