"""A small OTLP/HTTP client for one collector, and the test configuration (keys, port 0, temporary SQLite)."""

from __future__ import annotations

import gzip
import http.client
import json
from pathlib import Path
from typing import Any

from zerolag.collector import Collector, CollectorConfig
from zerolag.otlp import protobuf

INGEST_KEY = "ingest-secret-1"
READ_KEY = "read-secret-1"


class Client:
    """HTTP calls to one collector."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.host, self.port = "127.0.0.1", collector.port

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=body or None, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def export(
        self,
        signal: str,
        request: dict[str, Any],
        *,
        key: str | None = INGEST_KEY,
        gzipped: bool = False,
        as_json: bool = False,
    ) -> tuple[int, dict[str, str], bytes]:
        if as_json:
            body, ctype = json.dumps(request).encode(), "application/json"
        else:
            body, ctype = protobuf.encode(signal, request), "application/x-protobuf"  # type: ignore[arg-type]
        headers = {"Content-Type": ctype}
        if gzipped:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return self.request("POST", f"/v1/{signal}", body, headers)

    def get_json(self, path: str, key: str = READ_KEY) -> Any:
        status, _, body = self.request("GET", path, headers={"X-Api-Key": key})
        assert status == 200, body
        return json.loads(body)


def make_config(tmp_path: Path, **overrides: Any) -> CollectorConfig:
    values: dict[str, Any] = {
        "db_path": tmp_path / "zerolag.db",
        "ingest_keys": frozenset({INGEST_KEY}),
        "read_keys": frozenset({READ_KEY}),
        "port": 0,
        "retention_hours": None,
        "max_db_mb": None,
    }
    values.update(overrides)
    return CollectorConfig(**values)
