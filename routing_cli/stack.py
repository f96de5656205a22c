"""Run the whole stack locally: `make run` (`routing run`).

Starts `serve run serve_config.yaml` (a local Ray cluster with the dashboard,
all three applications), waits until every application answers its health
route, prints where everything is, and stays in the foreground until Ctrl-C,
which shuts Serve and the local cluster down.

Development mode: unless a token key set is configured already, a throwaway
Ed25519 key pair is generated for this run: the applications get only its
public half (`ROUTING_TOKEN_PUBLIC_KEYS`), the private key stays in a 0700
directory for this launcher and `routing token`, and a ready-to-use token per
role is printed with the banner, beside the dashboard and metrics addresses
Ray actually chose (read from the cluster, not assumed).

`serve run` runs in its own session with SIGINT restored, so exactly one
SIGINT reaches it: the one this launcher forwards on Ctrl-C or SIGTERM (a
background job of a non-interactive shell would otherwise ignore SIGINT).
Once `serve run` has stopped, the private directory is removed with the key
in it: nothing of the session is left in `/tmp` (a SIGKILL of the launcher
excepted: nothing runs then).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from contracts.identity import Role
from routing_cli.ingress import ingress_env, ingress_mode, private_directory
from servekit.identity import AuthSettings, TokenSigner, signer_from_settings
from servekit.keys import new_private_key, private_pem, public_jwk

HEALTH_ROUTES = ("/organism/health", "/pipeline/health", "/cognitive/health")
DEV_TOKEN_TTL_S = 24 * 3600


def _session_signer(private_dir: Path) -> tuple[TokenSigner | None, Path | None]:
    """The operator's key set if one is configured (and its signer, if the private key is given);
    else a throwaway pair: the public half into this environment, the private key into a file."""
    settings = AuthSettings()
    if settings.public_keys():
        return (signer_from_settings(settings), settings.token_private_key_file) if settings.token_private_key_file else (None, None)
    key = new_private_key()
    key_file = private_dir / "signing-key.pem"
    key_file.touch(mode=0o600)
    key_file.write_text(private_pem(key))
    os.environ["ROUTING_TOKEN_PUBLIC_KEYS"] = json.dumps({"keys": [public_jwk(key.public_key())]})
    return TokenSigner(private_pem(key)), key_file


def cluster_endpoints() -> tuple[str, list[int]]:
    """The dashboard URL and the metrics ports Ray chose, asked from the running cluster."""
    import ray

    # ray.init installs its own SIGTERM handler, which exits at once: the launcher's must come back,
    # or a SIGTERM would leave the whole stack running without the launcher
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        context = ray.init(address="auto", namespace="routing-cli", log_to_driver=False, logging_level="ERROR")
        ports = sorted({node["MetricsExportPort"] for node in ray.nodes() if node["Alive"]})
        return f"http://{context.dashboard_url}", ports
    finally:
        ray.shutdown()  # a no-op when init failed
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


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


def banner(base_url: str, state_dir: str, dashboard_url: str, metrics_ports: list[int],
           tokens: dict[Role, str], key_file: Path | None) -> str:
    example = json.dumps({"task": {"type": "graph_embed", "domain": "facts"}})
    exports = "\n".join(f"    export {role.name}_TOKEN={token}" for role, token in tokens.items())
    minting = (f"ROUTING_TOKEN_PRIVATE_KEY_FILE={key_file} routing token --role admin --service ops" if key_file
               else "with your own signing key: routing token --role admin --service ops")
    metrics = "  ".join(f"http://127.0.0.1:{port}/metrics" for port in metrics_ports)
    return f"""
================ routing control plane is up ================
  Serve HTTP     {base_url}  (organism: /organism, coordinator: /pipeline, cognitive: /cognitive)
  Console        {base_url}/organism/console  (in a browser; paste a token below: ADMIN_TOKEN for actions)
  API docs       {base_url}/organism/docs  {base_url}/pipeline/docs  {base_url}/cognitive/docs
  Ray dashboard  {dashboard_url}
  Metrics        {metrics}  (Prometheus)
  State dir      {state_dir}
  Tokens (valid 24 h; mint more: {minting})
{exports}
  Operator CLI   ROUTING_URL={base_url} ROUTING_TOKEN=$ADMIN_TOKEN routing status   (routing --help)
  Serve CLI      serve status --address {dashboard_url}   serve config --address {dashboard_url}
  Try:           curl -X POST -H "Authorization: Bearer $SERVICE_TOKEN" {base_url}/organism/resolve-route -d '{example}'
  Stop:          Ctrl-C
==============================================================
""".rstrip()


def run(config_path: Path, startup_timeout_s: float = 240.0) -> int:
    """The stack in the foreground until it stops; its private directory (HAProxy's sockets, the
    session's signing key) goes with it, however it stops (Ctrl-C, SIGTERM, a failed start, an error)."""
    private_dir = private_directory()
    try:
        return _serve(config_path, private_dir, startup_timeout_s)
    finally:
        shutil.rmtree(private_dir, ignore_errors=True)


def _serve(config_path: Path, private_dir: Path, startup_timeout_s: float) -> int:
    config = yaml.safe_load(config_path.read_text())
    http = config.get("http_options", {})
    base_url = f"http://{http.get('host', '127.0.0.1')}:{http.get('port', 8000)}"
    state_dir = os.environ.setdefault("ORGANISM_STATE_DIR", str(Path(".state").resolve()))
    os.environ.setdefault("ROUTING_REMOTE", "true")  # rollout phase 2 of the contract; ROUTING_REMOTE=false: phase 1
    # before Ray starts: Ray reads the ingress environment once
    os.environ.update(ingress_env(ingress_mode(), private_dir, drain_s=0))
    os.environ.setdefault("ROUTING_DEV_MODE", "true")
    signer, key_file = _session_signer(private_dir)
    tokens = {role: signer.mint(f"local-{role.value}", role, DEV_TOKEN_TTL_S) for role in Role} if signer else {}
    serve_cli = Path(sys.executable).with_name("serve")
    cluster_env = {k: v for k, v in os.environ.items() if k != "ROUTING_TOKEN_PRIVATE_KEY_FILE"}  # never to Ray
    child = subprocess.Popen(
        [str(serve_cli), "run", str(config_path)],
        env=cluster_env,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )

    def stop(signum: int, frame: object) -> None:
        if child.poll() is None:
            print("\nstopping the stack...", flush=True)
            child.send_signal(signal.SIGINT)

    try:
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        if not _wait_until_healthy(base_url, child, startup_timeout_s):
            print("the stack did not become healthy; see the log above", file=sys.stderr)
            return 1
        dashboard_url, metrics_ports = cluster_endpoints()
        print(banner(base_url, state_dir, dashboard_url, metrics_ports, tokens, key_file), flush=True)
        return child.wait()
    finally:  # whatever ended the launcher, the stack stops before its private directory goes
        stop(signal.SIGINT, None)
        child.wait(timeout=60)
