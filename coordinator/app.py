"""Coordinator deployment (`/pipeline`): the governor.

It decides fast path or escalation (`Governor`), routes through the `Router`
(cache, coalesced misses, breaker, static fallback) and runs each step
through the `StepExecutor` (organism, or the organ itself). `POST /tasks`
routes and executes; `POST /route` only routes. It follows the registry's
feed of changes, so its cache drops what a change makes stale at once, and
takes the contract's flags live from Serve's `user_config` (`reconfigure`).
"""

import asyncio
import os
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from ray import serve
from ray.serve import Application

from contracts.registry_feed import WATCH_TIMEOUT_S, Change, RegistryFollower, RegistryView, ViewVersion
from contracts.wire import Health, TaskSpec
from coordinator.clients import CognitiveClient, OrganClient, OrganismClient, RegistryClient
from coordinator.drift import DriftValve
from coordinator.execution import StepExecutor
from coordinator.governor import Decision, Governor
from coordinator.instances import KnownInstances
from coordinator.metrics import CoordinatorMetrics
from coordinator.models import AlertOut, RouteRequest, RouteResponse, RouteStatsOut, TaskRequest, TaskResponse
from coordinator.route_tally import WINDOW, firing
from coordinator.router import Router
from coordinator.settings import CoordinatorSettings
from servekit.auth import configure_replica, require_service
from servekit.context import current_correlation_id, replica_logger
from servekit.control_plane import ensure_control_plane, watch_control_plane
from servekit.control_version import track
from servekit.errors import ApiError
from servekit.ingress import conventional_app
from servekit.middleware import replica_id
from servekit.openapi import errors

logger = replica_logger(__name__)
NOTHING_SEEN = RegistryView(ViewVersion("", 0), "", (), 0)  # the first update from the registry resyncs
FIRST_VIEW_TIMEOUT_S = 2.0

app = conventional_app("Coordinator", "Fast path or escalation; cached remote routing with static fallback",
                       versioned=True)


async def _follower(registry: RegistryClient, on_change: Callable[[Change], None]) -> RegistryFollower:
    """A follower at the registry's current view, so a new replica starts at the current version; at nothing
    and without a lease if the organism is not there (routes go remote or static until the feed answers)."""
    name = f"coordinator/{replica_id()}"
    try:
        return await asyncio.wait_for(RegistryFollower.started(registry.view, on_change, name, "coordinator"),
                                      FIRST_VIEW_TIMEOUT_S)
    except Exception:
        return RegistryFollower(NOTHING_SEEN, on_change, name, "coordinator")


@serve.deployment(name="Coordinator", max_ongoing_requests=500, ray_actor_options={"num_cpus": 0.1})
@serve.ingress(app)
class Coordinator:
    async def __init__(self, settings: CoordinatorSettings) -> None:
        configure_replica()
        watch_control_plane()
        organism = OrganismClient(settings.organism_app, settings.execute_timeout_s)
        registry = RegistryClient(settings.registry_actor_name, settings.organ_namespace, WATCH_TIMEOUT_S + 2)
        self._cognitive = CognitiveClient(settings.cognitive_app, settings.plan_timeout_s)
        # the cache answers only while the lease on the registry's view holds (`contracts.registry_feed`)
        metrics = CoordinatorMetrics()
        self._tally = metrics.tally
        self._router = Router(settings, organism, observer=metrics, trusted=lambda: self._feed.fresh)
        self._instances = KnownInstances(registry.active_actor_name, trusted=lambda: self._feed.fresh)
        self._executor = StepExecutor(
            organism, OrganClient(registry, settings.organ_namespace, settings.execute_timeout_s),
            self._router.organism_reachable, self._instances,
        )
        self._feed = await _follower(registry, self._on_registry_change)
        track(self._feed)
        self._governor = Governor(
            settings.multi_step_types,
            DriftValve(settings.drift_allowance, settings.drift_threshold),
            settings.max_inflight_escalations,
        )
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(client.app.warm()) for client in (organism, self._cognitive)]
        self._tasks.append(loop.create_task(self._feed.follow(registry.watch, WATCH_TIMEOUT_S)))

    def _on_registry_change(self, change: Change) -> None:
        self._router.on_registry_change(change, self._feed.epoch)
        everything = change.epoch or change.refreshed
        self._instances.forget(None if everything else change.logical_ids)

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        """Serve calls this with the deployment's `user_config`: the contract's flags, live."""
        flags = self._router.flags.changed_by(user_config)
        self._router.apply_flags(flags)
        logger.info("routing flags now %s", flags.model_dump(mode="json"))

    @app.post("/route", dependencies=[require_service], tags=["pipeline"])
    async def route(self, request: RouteRequest) -> RouteResponse:
        step = await self._router.route(request.type, request.domain, request.preferred_logical_id)
        return RouteResponse(type=request.type, domain=request.domain, **asdict(step))

    @app.post("/tasks", dependencies=[require_service], tags=["pipeline"], responses=errors(429))
    async def submit_task(self, request: TaskRequest) -> TaskResponse:
        task = TaskSpec(type=request.type, domain=request.domain, params=request.params)
        decision = self._governor.decide(request.type, request.escalate, request.drift_score)
        plan_meta = None
        if decision is Decision.FAST:
            route = await self._router.route(request.type, request.domain, request.preferred_logical_id)
            outcomes = [await self._executor.run(task, route)]
        else:
            if not self._governor.try_begin_escalation():
                raise ApiError(
                    429,
                    "TooManyEscalations",
                    "too many escalated tasks in flight; retry shortly",
                    headers={"Retry-After": "1"},
                )
            try:
                steps, plan_meta = await self._plan(task)
                routes = await self._router.route_many([(s.type, s.domain) for s in steps])
                outcomes = [await self._executor.run(step, route) for step, route in zip(steps, routes, strict=True)]
            finally:
                self._governor.end_escalation()
        return TaskResponse(
            task_id=uuid.uuid4().hex,
            decision=decision.value,
            steps=outcomes,
            correlation_id=current_correlation_id() or uuid.uuid4().hex,
            plan=plan_meta,
        )

    async def _plan(self, task: TaskSpec) -> tuple[list[TaskSpec], dict[str, Any]]:
        try:
            plan = await self._cognitive.plan(task)
        except Exception as error:  # no planner: the task itself is the one step
            return [task], {"planner": "unavailable", "error": type(error).__name__}
        return [TaskSpec(**step.task.model_dump()) for step in plan.solution_steps], plan.meta

    def stats(self) -> dict[str, Any]:
        """Counters of this replica (DeploymentHandle only)."""
        return {
            **asdict(self._router.stats()),
            "escalations_in_flight": self._governor.inflight,
            "flags": self._router.flags.model_dump(mode="json"),
            "pid": os.getpid(),
        }

    @app.get("/stats", dependencies=[require_service], tags=["pipeline"])
    async def route_stats(self) -> RouteStatsOut:
        """This replica's last routes: cache hit ratio, remote calls and failures, remote p95, breaker; and which
        routing alerts they would fire (the operator console's overview)."""
        summary = self._tally.summary()
        return RouteStatsOut(
            replica=replica_id(), window=WINDOW, cache_entries=self._router.stats().cache_entries,
            **{**asdict(summary), "breaker": summary.breaker.value},
            alerts=[AlertOut(**asdict(alert)) for alert in firing(summary)],
        )

    @app.get("/health")
    async def health(self) -> Health:
        ensure_control_plane()
        return Health(status="ok", detail=f"breaker {self._router.stats().breaker.value}")


def build_app(args: dict[str, Any]) -> Application:
    return Coordinator.bind(CoordinatorSettings(**args))
