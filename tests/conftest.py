"""Fixtures every test directory may use."""

import pytest

from tests.postgres import throwaway_postgres


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    with throwaway_postgres() as server:
        yield server.dsn
