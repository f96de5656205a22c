"""Coordinator deployment (`/pipeline`)."""

from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application

from service_common.http import install_http_conventions
from service_common.wire import Health

app = FastAPI(title="Coordinator")
install_http_conventions(app)


@serve.deployment(name="Coordinator", max_ongoing_requests=200, ray_actor_options={"num_cpus": 0.1})
@serve.ingress(app)
class Coordinator:
    @app.get("/health")
    async def health(self) -> Health:
        return Health(status="ok")


def build_app(args: dict[str, Any]) -> Application:
    return Coordinator.bind()
