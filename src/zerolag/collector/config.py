"""The collector's configuration: one frozen object, built by the CLI from its options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORT = 4318
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class CollectorConfig:
    """Where the collector listens and stores, who may write and read, how long data is kept, and the
    limits that keep one process bounded under any clients (docs/collector.md).

    The store is ``store`` (``sqlite:///path`` or ``postgresql://...``), else the SQLite file ``db_path``.
    ``ingest_keys`` may send telemetry and read it; ``read_keys`` may only read (the viewer and its API).
    ``port=0`` picks a free port. ``retention_hours``/``max_db_mb`` of ``None`` keep everything.
    """

    db_path: Path | None = None
    ingest_keys: frozenset[str] = field(default_factory=frozenset)
    read_keys: frozenset[str] = field(default_factory=frozenset)
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    retention_hours: float | None = 24.0 * 7
    max_db_mb: float | None = 1024.0
    retention_interval_s: float = 60.0
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    store: str | None = None
    max_connections: int = 1000  # open connections; past it, new requests get 503
    header_timeout_s: float = 10.0  # from connection (or the previous response) to a complete request head
    body_timeout_s: float = 30.0  # for a whole request body, however it trickles
    max_buffered_bytes: int = 128 * 1024 * 1024  # request bodies being read, all connections together
    max_decode_bytes: int = 512 * 1024 * 1024  # estimated peak memory of requests being decoded and stored
    workers: int = 4  # threads decoding and storing requests (and, as many again, serving reads)

    def __post_init__(self) -> None:
        if not self.ingest_keys:
            raise ValueError("the collector needs at least one ingest key")
        if any(not key for key in self.ingest_keys | self.read_keys):
            raise ValueError("keys must not be empty")
        if self.db_path is None and self.store is None:
            raise ValueError("the collector needs a store: db_path or store")

    @property
    def store_target(self) -> str | Path:
        """What ``store.open_store`` opens."""
        if self.store is not None:
            return self.store
        assert self.db_path is not None
        return self.db_path
