"""Where a store test's database is: a SQLite file, or the session's throwaway PostgreSQL."""

import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def location(request, tmp_path) -> str:
    return str(tmp_path / "state.db") if request.param == "sqlite" else request.getfixturevalue("postgres_dsn")
