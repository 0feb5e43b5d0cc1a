"""Fixtures: a real collector on 127.0.0.1 port 0 with a temporary SQLite file, and a client for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from collector_client import Client, make_config

from zerolag.collector import Collector


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    with Collector(make_config(tmp_path)) as running:
        yield running


@pytest.fixture
def client(collector: Collector) -> Client:
    return Client(collector)
