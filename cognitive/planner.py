"""Turn a task into abstract steps from plan templates. Pure.

The planner knows nothing of routing. Its guard checks the plan's structure:
steps are `{"task": {"type", "domain", "params"}}` and nothing else, and no
mapping anywhere in the params has a key that names a routing decision (a
logical id, an instance, an organ). Routing keys anywhere in the incoming
task's params are not carried into the steps.
"""

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from contracts.wire import MAX_PLAN_STEPS, Plan, TaskSpec

DEFAULT_TEMPLATES = Path(__file__).with_name("plan_templates.yaml")
ROUTING_KEYS = frozenset(
    {"logical_id", "instance_id", "preferred_logical_id", "organ", "organ_id", "actor_name", "resolved_from"}
)


class PlanGuardError(ValueError):
    """A plan that carries a routing decision; it is never returned."""


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid")
    match: str = Field(min_length=1)
    steps: list[str] = Field(min_length=1, max_length=MAX_PLAN_STEPS)


class TemplateFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    templates: list[Template]


def _routing_keys_in(value: Any, path: str) -> list[str]:
    if isinstance(value, dict):
        found = [f"{path}.{k}" for k in value if k in ROUTING_KEYS]
        return found + [hit for k, v in value.items() for hit in _routing_keys_in(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in _routing_keys_in(v, f"{path}.{i}")]
    return []


def without_routing_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_routing_keys(v) for k, v in value.items() if k not in ROUTING_KEYS}
    if isinstance(value, list):
        return [without_routing_keys(v) for v in value]
    return value


def guard(plan: dict[str, Any]) -> Plan:
    """Validate a plan's structure; raise PlanGuardError if it carries routing."""
    checked = Plan.model_validate(plan)
    found = [
        hit
        for index, step in enumerate(checked.solution_steps)
        for hit in _routing_keys_in(step.task.params, f"solution_steps.{index}.task.params")
    ]
    if found:
        raise PlanGuardError(f"plan carries routing decisions at {', '.join(found)}")
    return checked


class Planner:
    def __init__(self, templates: list[Template]) -> None:
        self._templates = templates

    @classmethod
    def from_file(cls, path: Path = DEFAULT_TEMPLATES) -> "Planner":
        return cls(TemplateFile.model_validate(yaml.safe_load(path.read_text())).templates)

    def plan(self, task: TaskSpec) -> Plan:
        task_type = task.type  # normalized by its model
        template = next((t for t in self._templates if fnmatchcase(task_type, t.match)), None)
        step_types = [s.replace("{type}", task_type) for s in template.steps] if template else [task_type]
        params = without_routing_keys(task.params)
        domain = task.domain
        return guard(
            {
                "solution_steps": [
                    {"task": {"type": step_type, "domain": domain, "params": params}} for step_type in step_types
                ],
                "meta": {
                    "planner": "templates",
                    "template": template.match if template else None,
                    "source_type": task_type,
                    "step_count": len(step_types),
                },
            }
        )
