"""The `make run` launcher: the banner (the addresses Ray chose, every app's docs, a token per role, the
commands), asking the cluster for them without losing the launcher's own signal handlers, and its
private directory (the session's signing key) gone however the stack stops."""

import os
import signal
import sys
import tempfile
import types
from collections.abc import Callable
from pathlib import Path

import pytest

from contracts.identity import Role
from routing_cli import stack
from routing_cli.stack import banner, cluster_endpoints


def test_the_banner_shows_what_ray_chose_and_how_to_go_on():
    text = banner("http://127.0.0.1:8000", "/srv/state", "http://127.0.0.1:8266", [41234],
                  {role: f"token-of-{role.value}" for role in Role}, Path("/tmp/rcp-x/signing-key.pem"))
    for expected in [
        "Console        http://127.0.0.1:8000/organism/console", "http://127.0.0.1:8000/organism/docs", "http://127.0.0.1:8000/pipeline/docs", "http://127.0.0.1:8000/cognitive/docs",
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


class ServeRun:
    """`serve run` as the launcher sees it: it runs until it gets SIGINT, then exits. `while_running`
    is what happens while the launcher waits for it (an operator's Ctrl-C, a SIGTERM)."""

    def __init__(self, private_dir: Path, while_running: Callable[[], None]) -> None:
        self.private_dir, self.while_running = private_dir, while_running
        self.signals: list[int] = []
        self.key_while_running = False
        self.returncode: int | None = None

    def __call__(self, args: list[str], **options: object) -> "ServeRun":  # subprocess.Popen(...)
        return self

    def poll(self) -> int | None:
        return self.returncode

    def send_signal(self, signum: int) -> None:
        self.signals.append(signum)
        self.returncode = 0

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.key_while_running = (self.private_dir / "signing-key.pem").exists()
            self.while_running()
        return self.returncode


@pytest.fixture
def launcher(tmp_path, monkeypatch):
    """`routing run` with its cluster faked: a throwaway key, its own environment and signal handlers."""
    saved_env, saved_handlers = dict(os.environ), {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for name in ("ROUTING_TOKEN_PUBLIC_KEYS", "ROUTING_TOKEN_PUBLIC_KEYS_FILE", "ROUTING_TOKEN_PRIVATE_KEY_FILE"):
        os.environ.pop(name, None)
    os.environ.update(ORGANISM_STATE_DIR=str(tmp_path / "state"), ROUTING_INGRESS="haproxy")
    private_dir = Path(tempfile.mkdtemp(prefix="rcp-", dir=tmp_path))
    monkeypatch.setattr(stack, "private_directory", lambda: private_dir)
    monkeypatch.setattr(stack, "cluster_endpoints", lambda: ("http://127.0.0.1:8266", [41234]))
    config = tmp_path / "serve_config.yaml"
    config.write_text("http_options: {host: 127.0.0.1, port: 8000}\n")
    yield private_dir, config
    os.environ.clear()
    os.environ.update(saved_env)
    for signum, handler in saved_handlers.items():
        signal.signal(signum, handler)


def fails(error: Exception):
    def raise_it(*args: object) -> None:
        raise error

    return raise_it


@pytest.mark.parametrize(
    "healthy, endpoints, while_running, outcome",
    [
        (True, None, lambda: signal.raise_signal(signal.SIGINT), 0),  # Ctrl-C
        (True, None, lambda: signal.raise_signal(signal.SIGTERM), 0),  # kill, systemd, docker stop
        (False, None, lambda: None, 1),  # never healthy
        (True, fails(RuntimeError("no cluster to ask")), lambda: None, RuntimeError),  # the launcher's own error
    ],
    ids=["sigint", "sigterm", "never-healthy", "launcher-error"],
)
def test_the_private_directory_and_its_key_are_gone_once_the_stack_stops(
    launcher, monkeypatch, healthy, endpoints, while_running, outcome
):
    private_dir, config = launcher
    serve_run = ServeRun(private_dir, while_running)
    monkeypatch.setattr(stack.subprocess, "Popen", serve_run)
    monkeypatch.setattr(stack, "_wait_until_healthy", lambda *args: healthy)
    if endpoints is not None:
        monkeypatch.setattr(stack, "cluster_endpoints", endpoints)
    if isinstance(outcome, int):
        assert stack.run(config) == outcome
    else:
        with pytest.raises(outcome):
            stack.run(config)
    assert serve_run.signals == [signal.SIGINT]  # the stack was stopped, once, before the directory went
    assert not private_dir.exists()
    if healthy and endpoints is None:
        assert serve_run.key_while_running  # the key was there while the stack ran
