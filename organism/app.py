"""OrganismManager: the dispatcher's Serve deployment, composed of its two wings.

Task routing (`tasks.api.TaskApi`) and job routing (`jobs.api.JobApi`) each
bring their routes and the one object they need, the audit trail
(`audit.api.AuditApi`) reads both; this module only builds the
FastAPI app from their routers, makes the deployment class of both, and gives
Serve its application builder.
"""

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from ray import cloudpickle, serve
from ray.serve import Application

from organism.audit import api as audit_api
from organism.jobs import api as jobs_api
from organism.jobs.picker_client import PickerClient, PickerUnavailable
from organism.metrics import OrganismMetrics
from organism.settings import OrganismSettings
from organism.state.store import StoreUnavailable
from organism.tasks import api as tasks_api
from organism.tasks.routing import TaskRouting, TaskRoutingError
from servekit.auth import configure_replica
from servekit.control_plane import watch_control_plane
from servekit.errors import error_response
from servekit.ingress import conventional_app

# Serve rewrites each route method's signature (`self` becomes a dependency) and ships the
# app to replicas by value; cloudpickle would send these modules' functions by name and
# lose the rewrite, so the wings travel by value.
for wing in (tasks_api, jobs_api, audit_api):
    cloudpickle.register_pickle_by_value(wing)

app = conventional_app("OrganismManager", "Task routing (rules, registry, organs) and job routing (miners)")
app.include_router(tasks_api.router)
app.include_router(jobs_api.router)
app.include_router(audit_api.router)
app.add_exception_handler(TaskRoutingError, tasks_api.on_task_routing_error)
app.add_exception_handler(PickerUnavailable, jobs_api.on_picker_unavailable)


async def on_store_unavailable(request: Request, failure: StoreUnavailable) -> JSONResponse:
    """The database is out: nothing was written, so nothing is acknowledged; reads from memory still answer."""
    return error_response(503, "StoreUnavailable", str(failure), headers={"Retry-After": "1"})


app.add_exception_handler(StoreUnavailable, on_store_unavailable)


@serve.deployment(
    name="OrganismManager",
    num_replicas=2,
    max_ongoing_requests=200,
    ray_actor_options={"num_cpus": 0.1},
)
@serve.ingress(app)
class OrganismManager(tasks_api.TaskApi, jobs_api.JobApi, audit_api.AuditApi):
    async def __init__(self, settings: OrganismSettings) -> None:
        configure_replica()
        watch_control_plane()
        metrics = OrganismMetrics()
        self.jobs = PickerClient(settings, metrics)
        self.tasks = TaskRouting(settings, metrics)
        await self.jobs.start()
        await self.tasks.start()

    def __del__(self) -> None:
        self.tasks.stop()


def build_app(args: dict[str, Any]) -> Application:
    """Serve application builder: `import_path: organism.app:build_app`."""
    return OrganismManager.bind(OrganismSettings(**args))
