"""SqlStore on a PostgreSQL that goes away and comes back (a server of its own)."""

import time

import pytest

from contracts.refusals import StoreUnavailable
from organism.state.sql import SqlStore
from tests.postgres import throwaway_postgres

OPERATIONS = [
    ("load", lambda store: store.load("c")),
    ("write", lambda store: store.write(puts=[("c", "k", 2)])),
    ("claim", lambda store: store.transaction().__enter__().claim_slot("m", "cls", "job", 1, 10.0, 0.0)),
    ("claims", lambda store: store.claims()),
]


def answers_again(operation, within_s: float = 30.0) -> float:
    """Seconds until `operation` stops raising StoreUnavailable (the pool reconnects in the background)."""
    started = time.monotonic()
    while True:
        try:
            operation()
            return time.monotonic() - started
        except StoreUnavailable:
            assert time.monotonic() - started < within_s, "the store did not recover"


def test_an_unreachable_postgresql_is_store_unavailable_and_its_restart_is_survived():
    with throwaway_postgres() as server:
        store = SqlStore(server.dsn, "outage/jobs", timeout_s=0.5)
        try:
            store.write(puts=[("c", "k", 1)])
            server.stop()
            for what, operation in OPERATIONS:
                with pytest.raises(StoreUnavailable):
                    operation(store)
                    pytest.fail(f"{what} answered with the database stopped")
            server.start()
            recovered_in = answers_again(lambda: store.write(puts=[("c", "k", 3)]))
            assert store.load("c") == {"k": 3}
            print(f"store answered again {recovered_in:.1f}s after PostgreSQL started")
        finally:
            store.close()
