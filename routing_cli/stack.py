"""Run the whole stack locally: `make run` (`routing run`).

Starts `serve run serve_config.yaml` (a local Ray cluster with the dashboard,
all three applications), waits until every application answers its health
route, prints where everything is, and stays in the foreground until Ctrl-C,
which shuts Serve and the local cluster down.

Development mode: unless a token secret is configured already, a fresh one is
generated for this run (`ROUTING_TOKEN_SECRET`, with `ROUTING_DEV_MODE=true`),
and ready-to-use service and admin tokens are printed with the banner.

`serve run` runs in its own session with SIGINT restored, so exactly one
SIGINT reaches it: the one this launcher forwards on Ctrl-C or SIGTERM (a
background job of a non-interactive shell would otherwise ignore SIGINT).
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from routing_cli.ingress import ingress_env, ingress_mode, private_directory
from servekit.identity import AuthSettings, Role, TokenAuthority

HEALTH_ROUTES = ("/organism/health", "/pipeline/health", "/cognitive/health")
DASHBOARD_URL = "http://127.0.0.1:8265"
DEV_TOKEN_TTL_S = 24 * 3600


def _healthy(url: str) -> bool:
    """Health routes need no token."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _wait_until_healthy(base_url: str, child: subprocess.Popen, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and child.poll() is None:
        if all(_healthy(base_url + route) for route in HEALTH_ROUTES):
            return True
        time.sleep(1)
    return False


def _banner(base_url: str, state_dir: str, tokens: dict[Role, str]) -> str:
    example = json.dumps({"task": {"type": "graph_embed", "domain": "facts"}})
    exports = "\n".join(f"    export {role.name}_TOKEN={token}" for role, token in tokens.items())
    return f"""
================ routing control plane is up ================
  Serve HTTP     {base_url}  (organism: /organism, coordinator: /pipeline, cognitive: /cognitive)
  API docs       {base_url}/organism/docs
  Ray dashboard  {DASHBOARD_URL}
  State dir      {state_dir}
  Tokens (valid 24 h; mint more: routing token --role admin --service ops)
{exports}
  Try:           curl -X POST -H "Authorization: Bearer $SERVICE_TOKEN" {base_url}/organism/resolve-route -d '{example}'
  Stop:          Ctrl-C
==============================================================
""".rstrip()


def run(config_path: Path, startup_timeout_s: float = 240.0) -> int:
    config = yaml.safe_load(config_path.read_text())
    http = config.get("http_options", {})
    base_url = f"http://{http.get('host', '127.0.0.1')}:{http.get('port', 8000)}"
    state_dir = os.environ.setdefault("ORGANISM_STATE_DIR", str(Path(".state").resolve()))
    os.environ.setdefault("ROUTING_REMOTE", "true")  # rollout phase 2 of the contract; ROUTING_REMOTE=false: phase 1
    mode = ingress_mode()
    # before Ray starts: Ray reads the ingress environment once
    os.environ.update(ingress_env(mode, private_directory(), drain_s=0))
    os.environ.setdefault("ROUTING_DEV_MODE", "true")
    secret = AuthSettings().secret()
    if not secret:
        secret = os.environ["ROUTING_TOKEN_SECRET"] = secrets.token_urlsafe(48)
    authority = TokenAuthority(secret)
    tokens = {role: authority.mint(f"local-{role.value}", role, DEV_TOKEN_TTL_S) for role in Role}
    serve_cli = Path(sys.executable).with_name("serve")
    child = subprocess.Popen(
        [str(serve_cli), "run", str(config_path)],
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )

    def stop(signum: int, frame: object) -> None:
        if child.poll() is None:
            print("\nstopping the stack...", flush=True)
            child.send_signal(signal.SIGINT)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    if not _wait_until_healthy(base_url, child, startup_timeout_s):
        print("the stack did not become healthy; see the log above", file=sys.stderr)
        stop(signal.SIGINT, None)
        child.wait(timeout=60)
        return 1
    print(_banner(base_url, state_dir, tokens), flush=True)
    return child.wait()
