"""``zerolag collector serve``: the OTLP receiver, its store (SQLite or PostgreSQL) and the viewer."""

from __future__ import annotations

import logging
from pathlib import Path

import click

DEFAULT_PORT = 4320  # not 4318: on one machine the extension's local receiver may already hold that


@click.group()
def collector() -> None:
    """The zerolag collector (OTLP/HTTP receiver, SQLite or PostgreSQL store, viewer)."""


@collector.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="Port (0 picks a free one).")
@click.option(
    "--db",
    "db_path",
    default="zerolag.db",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="ZEROLAG_COLLECTOR_DB",
    help="SQLite file (created when missing), unless --store is given.",
)
@click.option(
    "--store",
    "store",
    envvar="ZEROLAG_COLLECTOR_STORE",
    help="sqlite:///path or postgresql://user@host/db (several collectors may share one PostgreSQL).",
)
@click.option(
    "--ingest-key",
    "ingest_keys",
    multiple=True,
    envvar="ZEROLAG_COLLECTOR_INGEST_KEYS",
    help="A key that may send telemetry (and read). Repeatable; env: space-separated.",
)
@click.option(
    "--read-key",
    "read_keys",
    multiple=True,
    envvar="ZEROLAG_COLLECTOR_READ_KEYS",
    help="A key that may only read (viewer and API). Repeatable.",
)
@click.option(
    "--retention-hours", type=float, default=24.0 * 7, show_default=True, help="Drop data older than this."
)
@click.option(
    "--max-db-mb", type=float, default=1024.0, show_default=True, help="Drop the oldest data above this."
)
@click.option(
    "--max-connections",
    type=click.IntRange(1),
    default=1000,
    show_default=True,
    help="Open connections at once.",
)
@click.option(
    "--decode-memory-mb",
    type=click.IntRange(16),
    default=512,
    show_default=True,
    help="Estimated memory for requests being decoded at once (past it, clients get a retryable 503).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every request (paths only, never keys).")
def serve(  # noqa: PLR0917 (click passes options by keyword)
    host: str,
    port: int,
    db_path: Path,
    store: str | None,
    ingest_keys: tuple[str, ...],
    read_keys: tuple[str, ...],
    retention_hours: float,
    max_db_mb: float,
    max_connections: int,
    decode_memory_mb: int,
    verbose: bool,
) -> None:
    """Receive OTLP on /v1/{traces,metrics,logs} and serve the viewer on /, until Ctrl-C."""
    from zerolag.collector import Collector, CollectorConfig

    if not ingest_keys:
        raise click.UsageError("at least one --ingest-key (or ZEROLAG_COLLECTOR_INGEST_KEYS) is required")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s %(message)s"
    )
    config = CollectorConfig(
        db_path=db_path,
        store=store,
        ingest_keys=frozenset(ingest_keys),
        read_keys=frozenset(read_keys),
        host=host,
        port=port,
        retention_hours=retention_hours if retention_hours > 0 else None,
        max_db_mb=max_db_mb if max_db_mb > 0 else None,
        max_connections=max_connections,
        max_decode_bytes=decode_memory_mb * 1024 * 1024,
    )
    from zerolag.collector.db import StoreError

    try:
        running = Collector(config)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    except (StoreError, ValueError) as exc:
        raise click.ClickException(f"cannot open the store: {exc}") from exc
    click.echo(f"zerolag collector on {running.url}  (OTLP: {running.url}/v1/traces|metrics|logs)")
    click.echo(f"viewer: {running.url}/   store: {running.store.description}", nl=True)
    try:
        running.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
