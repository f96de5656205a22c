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
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _binaries() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    if initdb := shutil.which("initdb"):
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL's server binaries are missing: `apt-get install -y postgresql` (or run .ci/run)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Start a server; yield its DSN; stop and remove it."""
    binaries, port = _binaries(), _free_port()
    home = Path(tempfile.mkdtemp(prefix="rcp-pg-", dir="/tmp"))
    data = home / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(home, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    run = lambda *args: subprocess.run([*as_user, *args], check=True, capture_output=True)  # noqa: E731
    try:
        run(str(binaries / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "--no-sync")
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {home} -c fsync=off -c max_connections=200"
        run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(home / "log"), "-w", "start")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if data.exists():
            subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
