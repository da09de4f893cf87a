"""Shared fixtures: a real PostgreSQL server for the store's second backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitor.testing.postgres import PostgresServer, binaries


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (a database per test: `new_database()`);
    skipped, saying why, only where PostgreSQL is not installed."""
    if binaries() is None:
        pytest.skip("PostgreSQL is not installed here (.ci/run installs it)")
    with PostgresServer() as server:
        yield server
