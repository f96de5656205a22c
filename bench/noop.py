"""The no-op baseline: what Ray Serve itself costs, deployed beside the stack in the same cluster.

`bench.stack` adds it to the benchmarked copy of `serve_config.yaml` as one
more application (`/noop`), so it runs behind the same ingress, with the same
dashboard and logging, as the stack it is compared with.
"""

from typing import Any

from fastapi import FastAPI
from ray import serve

api = FastAPI()


@serve.deployment(name="Noop", max_ongoing_requests=500, ray_actor_options={"num_cpus": 0.1})
@serve.ingress(api)
class Noop:
    """An HTTP route and a handle method that do nothing."""

    @api.post("/")
    async def noop_http(self, body: dict[str, Any]) -> dict[str, bool]:
        return {"ok": True}

    async def noop_handle(self) -> bool:
        return True


app = Noop.bind()
