"""A throwaway PostgreSQL server on loopback, for the tests that need a real one.

The server binaries come from the OS package `postgresql` (Debian puts them in
`/usr/lib/postgresql/<version>/bin`; `.ci/run` installs it). PostgreSQL refuses
to run as root, so as root the server runs as the `postgres` user in a data
directory it owns. Trust authentication, loopback only, no fsync: a test
server, started in seconds and removed afterwards.
"""

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from routing_cli.ingress import free_port


def _binaries() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    if initdb := shutil.which("initdb"):
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL's server binaries are missing: `apt-get install -y postgresql` (or run .ci/run)")


@dataclass
class PostgresServer:
    """A running throwaway server; `stop` and `start` it to play an outage."""

    dsn: str
    pg_ctl: Callable[..., Any]

    def stop(self) -> None:
        self.pg_ctl("-m", "immediate", "stop")

    def start(self) -> None:
        self.pg_ctl("-w", "start")


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[PostgresServer]:
    """Start a server; yield it; stop and remove it."""
    binaries, port = _binaries(), free_port()
    home = Path(tempfile.mkdtemp(prefix="rcp-pg-", dir="/tmp"))
    data = home / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(home, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {home} -c fsync=off -c max_connections=200"

    def pg_ctl(*args: str, check: bool = True) -> None:
        command = [*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(home / "log"), *args]
        subprocess.run(command, check=check, capture_output=True)

    try:
        subprocess.run([*as_user, str(binaries / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres",
                        "--no-sync"], check=True, capture_output=True)
        pg_ctl("-w", "start")
        yield PostgresServer(f"postgresql://postgres@127.0.0.1:{port}/postgres", pg_ctl)
    finally:
        if data.exists():
            pg_ctl("-m", "immediate", "stop", check=False)
        shutil.rmtree(home, ignore_errors=True)
