"""Shared fixtures: a real PostgreSQL server for the store's second backend, and a
local feed server (modules that need it routed or shared define their own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitor.testing.feedserver import FeedServer
from monitor.testing.postgres import PostgresServer, binaries


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (a database per test: `new_database()`);
    skipped, saying why, only where PostgreSQL is not installed."""
    if binaries() is None:
        pytest.skip("PostgreSQL is not installed here (.ci/run installs it)")
    with PostgresServer() as server:
        yield server


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """A FeedServer on 127.0.0.1 for one test."""
    with FeedServer() as s:
        yield s
