"""The ingress in front of the stack: Ray Serve's HAProxy by default, its Python proxy by switch.

Ray reads these variables once, when its processes start, so they must be in
the environment of `ray start` / `serve run` (and of every KubeRay pod), not of
a later `serve deploy`. `ROUTING_INGRESS=python` keeps Serve's Python proxy.

What the HAProxy settings close, through Ray's own settings:
- `timeout server`: without it HAProxy warns "missing timeouts" for every
  backend; 60 s is above the slowest route's own budget;
- `tune.bufsize` 128 KiB: headers up to about 120 KiB reach the app, which
  answers more than 16 KiB with its JSON 431 (HAProxy's default buffer
  answered 64 KiB of headers with an HTML 400);
- the admin socket (created `mode 666 level admin`), its configuration and
  state files go to a directory only the owner can enter;
- Ctrl-C of `make run`: replicas drain for `drain_s` (Ray's default of 30 s
  suits rolling updates on a cluster, not a laptop).
HAProxy's stats page (8404) and Prometheus exporter (9101) always listen on
every interface in Ray 2.60; the ports are explicit here so that a
NetworkPolicy (k8s/network-policy.yaml) and the PodMonitor can name them.
"""

import os
import socket
import tempfile
from pathlib import Path

HAPROXY_STATS_PORT = 8404
HAPROXY_METRICS_PORT = 9101


def private_directory() -> Path:
    """A new 0700 directory for HAProxy's sockets: `/tmp/rcp-XXXXXXXX`. Short, because Ray adds a
    56-character node id and HAProxy takes socket paths of at most 97 bytes."""
    return Path(tempfile.mkdtemp(prefix="rcp-", dir="/tmp"))


def free_port() -> int:
    """A loopback port nobody listens on now: for a local cluster's ingress, a test database, ..."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ingress_mode() -> str:
    mode = os.environ.get("ROUTING_INGRESS", "haproxy").strip().lower()
    if mode not in ("haproxy", "python"):
        raise ValueError(f"ROUTING_INGRESS must be haproxy or python, not {mode!r}")
    return mode


def ingress_env(
    mode: str,
    private_dir: Path | None = None,
    drain_s: float | None = None,
    ports: tuple[int, int] = (HAPROXY_STATS_PORT, HAPROXY_METRICS_PORT),
) -> dict[str, str]:
    """The environment that selects and hardens the ingress; `private_dir` is created 0700.
    `ports` are HAProxy's stats and Prometheus ports (a second cluster on one machine needs others)."""
    if mode == "python":
        return {"RAY_SERVE_ENABLE_HA_PROXY": "0"}
    env = {
        "RAY_SERVE_ENABLE_HA_PROXY": "1",
        "RAY_SERVE_HAPROXY_TIMEOUT_SERVER_S": "60",
        "RAY_SERVE_HAPROXY_TUNE_BUFSIZE": str(128 * 1024),
        "RAY_SERVE_HAPROXY_STATS_PORT": str(ports[0]),
        "RAY_SERVE_HAPROXY_METRICS_PORT": str(ports[1]),
    }
    if private_dir is not None:
        private_dir.mkdir(parents=True, exist_ok=True)
        private_dir.chmod(0o700)
        env.update(
            RAY_SERVE_HAPROXY_SOCKET_PATH=str(private_dir / "admin.sock"),
            RAY_SERVE_HAPROXY_CONFIG_FILE_LOC=str(private_dir / "haproxy.cfg"),
            RAY_SERVE_HAPROXY_SERVER_STATE_BASE=str(private_dir),
            RAY_SERVE_HAPROXY_SERVER_STATE_FILE=str(private_dir / "server-state"),
            RAY_SERVE_HAPROXY_METRICS_SOCKET_PATH=str(private_dir / "metrics.sock"),
        )
    if drain_s is not None:
        env["RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S"] = str(drain_s)
    return env
