"""Fixtures: a real collector on 127.0.0.1 port 0 with a temporary SQLite file, and a client for it; a real
PostgreSQL server (one per session) with a fresh database per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from collector_client import Client, make_config
from pg_server import PostgresServer, binaries

from zerolag.collector import Collector

_databases = itertools.count()


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    with Collector(make_config(tmp_path)) as running:
        yield running


@pytest.fixture
def client(collector: Collector) -> Client:
    return Client(collector)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    if binaries() is None:
        pytest.skip("PostgreSQL is not installed (scripts/setup-system.sh installs it)")
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """The URL of an empty database of its own."""
    name = f"zerolag_test_{next(_databases)}"
    url = postgres.create_database(name)
    try:
        yield url
    finally:
        postgres.drop_database(name)
