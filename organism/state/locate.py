"""Which store a component opens: PostgreSQL when a DSN is configured, else SQLite.

The DSN comes from `ROUTING_STATE_DSN`, or from the file named by
`ROUTING_STATE_DSN_FILE` (a mounted Secret), read by the actors themselves
from their environment, so it never travels in an application's args. Each
component of each organism namespace has its own scope (`routing/registry`,
`routing/jobs`); without a DSN, its own SQLite file in the state directory.
"""

import os
from pathlib import Path

from organism.state.sql import SqlStore

FILES = {"registry": "organism.db", "jobs": "jobs.db"}


def state_dsn() -> str | None:
    if dsn := os.environ.get("ROUTING_STATE_DSN", "").strip():
        return dsn
    if path := os.environ.get("ROUTING_STATE_DSN_FILE", "").strip():
        return Path(path).read_text().strip()
    return None


def open_store(component: str, namespace: str, state_dir: Path, read_only: bool = False) -> SqlStore:
    """The component's store; `read_only`, to read what its actor writes from another process (a SQLite file
    must exist: `StoreUnavailable` where it does not, e.g. on another node)."""
    dsn = state_dsn()
    return SqlStore(dsn if dsn else state_dir / FILES[component], f"{namespace}/{component}", read_only=read_only)
