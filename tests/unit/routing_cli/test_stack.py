"""The `make run` launcher: the banner (the addresses Ray chose, every app's docs, a token per role, the
commands), and asking the cluster for them without losing the launcher's own signal handlers."""

import signal
import sys
import types
from pathlib import Path

from contracts.identity import Role
from routing_cli.stack import banner, cluster_endpoints


def test_the_banner_shows_what_ray_chose_and_how_to_go_on():
    text = banner("http://127.0.0.1:8000", "/srv/state", "http://127.0.0.1:8266", [41234],
                  {role: f"token-of-{role.value}" for role in Role}, Path("/tmp/rcp-x/signing-key.pem"))
    for expected in [
        "http://127.0.0.1:8000/organism/docs", "http://127.0.0.1:8000/pipeline/docs", "http://127.0.0.1:8000/cognitive/docs",
        "Ray dashboard  http://127.0.0.1:8266", "http://127.0.0.1:41234/metrics",
        "export SERVICE_TOKEN=token-of-service", "export FACTS_TOKEN=token-of-facts", "export ADMIN_TOKEN=token-of-admin",
        "ROUTING_TOKEN_PRIVATE_KEY_FILE=/tmp/rcp-x/signing-key.pem routing token",
        "serve status --address http://127.0.0.1:8266", "routing status",
    ]:
        assert expected in text, expected


def test_asking_ray_for_its_endpoints_keeps_the_launchers_signal_handlers(monkeypatch):
    def forward(signum, frame):
        """the launcher's: forward a stop to `serve run`"""

    def ray_exits_at_once(signum, frame):
        raise SystemExit(signum)

    def init(**kwargs):
        signal.signal(signal.SIGTERM, ray_exits_at_once)  # as ray.init does
        return types.SimpleNamespace(dashboard_url="127.0.0.1:8266")

    fake_ray = types.SimpleNamespace(init=init, shutdown=lambda: None,
                                     nodes=lambda: [{"Alive": True, "MetricsExportPort": 41234}])
    monkeypatch.setitem(sys.modules, "ray", fake_ray)
    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        assert cluster_endpoints() == ("http://127.0.0.1:8266", [41234])
        assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == (forward, forward)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
