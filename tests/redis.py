"""A throwaway Redis server on loopback, for the test that runs GCS fault tolerance as KubeRay configures it.

The server binary comes from the OS package `redis-server` (`.ci/os-packages` installs it).
It runs with the arguments a manifest gives its container, on a free loopback port; the
container's data volume is a temporary directory, removed afterwards.
"""

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

from routing_cli.ingress import free_port


@contextlib.contextmanager
def throwaway_redis(args: list[str], volume: str | None = None) -> Iterator[str]:
    """Start `redis-server *args` on loopback, the path `volume` in them standing for a temporary
    directory; yield its `host:port`; stop it and remove its data."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is missing: `apt-get install -y redis-server` (or run .ci/run)")
    port, data = free_port(), tempfile.mkdtemp(prefix="rcp-redis-", dir="/tmp")
    server = subprocess.Popen(
        [binary, *(data if arg == volume else arg for arg in args), "--port", str(port), "--bind", "127.0.0.1",
         "--dir", data, "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start (exit code {server.poll()})")
            time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(data, ignore_errors=True)
