"""The collector's configuration: one frozen object, built by the CLI from its options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORT = 4318
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class CollectorConfig:
    """Where the collector listens and stores, who may write and read, and how long data is kept.

    ``ingest_keys`` may send telemetry and read it; ``read_keys`` may only read (the viewer and its API).
    ``port=0`` picks a free port. ``retention_hours``/``max_db_mb`` of ``None`` keep everything.
    """

    db_path: Path
    ingest_keys: frozenset[str]
    read_keys: frozenset[str] = field(default_factory=frozenset)
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    retention_hours: float | None = 24.0 * 7
    max_db_mb: float | None = 1024.0
    retention_interval_s: float = 60.0
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def __post_init__(self) -> None:
        if not self.ingest_keys:
            raise ValueError("the collector needs at least one ingest key")
        if any(not key for key in self.ingest_keys | self.read_keys):
            raise ValueError("keys must not be empty")
