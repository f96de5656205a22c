"""Cognitive deployment (`/cognitive`): plans escalated tasks; no routing."""

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from ray import serve
from ray.serve import Application

from cognitive.planner import DEFAULT_TEMPLATES, PlanGuardError, Planner
from contracts.identity import Caller
from contracts.wire import Health, Plan, PlanRequest
from servekit.auth import caller_of, configure_replica, require_service
from servekit.control_plane import ensure_control_plane, watch_control_plane
from servekit.errors import validation_error
from servekit.ingress import conventional_app

app = conventional_app("Cognitive", "Plans escalated tasks into abstract steps")


class CognitiveSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    templates_path: Path = DEFAULT_TEMPLATES


@serve.deployment(name="Cognitive", max_ongoing_requests=100, ray_actor_options={"num_cpus": 0.1})
@serve.ingress(app)
class Cognitive:
    def __init__(self, settings: CognitiveSettings) -> None:
        configure_replica()
        watch_control_plane()
        self._planner = Planner.from_file(settings.templates_path)

    @app.post("/plan-task", tags=["planning"])
    async def plan_task(self, request: PlanRequest, caller: Caller = require_service) -> Plan:
        caller_of(caller)
        try:
            return self._planner.plan(request.task)
        except (PlanGuardError, ValidationError) as refused:  # the task cannot make a valid plan
            raise validation_error([("task", str(refused).splitlines()[0])]) from refused

    @app.get("/health")
    async def health(self) -> Health:
        ensure_control_plane()
        return Health(status="ok")


def build_app(args: dict[str, Any]) -> Application:
    return Cognitive.bind(CognitiveSettings(**args))
