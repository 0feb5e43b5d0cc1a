"""``zerolag traces list`` / ``zerolag traces show ID``: stored invocations in the terminal.

Reads the collector's store directly (``--db`` for its SQLite file, ``--store`` for ``sqlite:///path`` or
``postgresql://...``), or a running collector's JSON API (``--url`` with ``--key``, a read or ingest key).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import click

from zerolag.cli import traces_render as render


class Source:
    """Where invocations come from: a store (SQLite file or PostgreSQL) or a collector URL."""

    def __init__(self, db: Path, url: str | None, key: str | None, store: str | None = None) -> None:
        self.db, self.url, self.key, self.store = db, url, key, store

    def invocations(
        self, function: str | None, status: str | None, cold: bool | None, limit: int
    ) -> list[Any]:
        if self.url:
            query = {"function": function, "status": status, "limit": limit}
            if cold is not None:
                query["cold_start"] = str(cold).lower()
            params = urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
            return list(self._get(f"/api/invocations?{params}")["invocations"])
        from zerolag.collector import queries
        from zerolag.collector.store import open_reader

        with self._reader(open_reader) as db:
            return queries.invocations(db, queries.Filters(function, status, cold, limit))

    def detail(self, ident: str) -> dict[str, Any] | None:
        if self.url:
            try:
                return dict(self._get(f"/api/invocations/{urllib.parse.quote(ident, safe='')}"))
            except click.ClickException as exc:
                if "404" in exc.message:
                    return None
                raise
        from zerolag.collector import queries
        from zerolag.collector.store import open_reader

        with self._reader(open_reader) as db:
            return queries.detail(db, ident)

    def _reader(self, open_reader: Any) -> Any:
        from zerolag.collector.db import StoreError
        from zerolag.collector.store import sqlite_path

        target: str | Path = self.store or self.db
        try:
            path = sqlite_path(target)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        if path is not None and not path.exists():
            raise click.ClickException(f"no collector database at {path} (pass --db, or --url and --key)")
        try:
            return open_reader(target)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from exc

    def _get(self, path: str) -> Any:
        assert self.url is not None
        request = urllib.request.Request(self.url.rstrip("/") + path, headers={"X-Api-Key": self.key or ""})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            raise click.ClickException(
                f"{self.url} answered {exc.code} for {path.split('?', maxsplit=1)[0]}"
            ) from exc
        except urllib.error.URLError as exc:
            raise click.ClickException(f"cannot reach {self.url}: {exc.reason}") from exc


@click.group()
@click.option(
    "--db",
    default="zerolag.db",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="ZEROLAG_COLLECTOR_DB",
    help="The collector's SQLite file.",
)
@click.option(
    "--store",
    envvar="ZEROLAG_COLLECTOR_STORE",
    help="The collector's store as a URL: sqlite:///path or postgresql://... (instead of --db).",
)
@click.option("--url", envvar="ZEROLAG_COLLECTOR_URL", help="A running collector (instead of --db).")
@click.option("--key", envvar="ZEROLAG_COLLECTOR_KEY", help="Read or ingest key for --url.")
@click.pass_context
def traces(ctx: click.Context, db: Path, store: str | None, url: str | None, key: str | None) -> None:
    """Browse stored invocations and their traces."""
    ctx.obj = Source(db, url, key, store)


@traces.command("list")
@click.option("--function", help="Only this function.")
@click.option("--status", type=click.Choice(["ok", "error", "timeout", "oom"]), help="Only this status.")
@click.option("--cold/--warm", "cold", default=None, help="Only cold (or warm) starts.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.pass_obj
def list_(source: Source, function: str | None, status: str | None, cold: bool | None, limit: int) -> None:
    """The newest invocations as a table."""
    rows = source.invocations(function, status, cold, limit)
    click.echo(render.invocations_table(rows) if rows else "no invocations match")


@traces.command()
@click.argument("ident", metavar="ID")
@click.pass_obj
def show(source: Source, ident: str) -> None:
    """One invocation (by request id or trace id): summary, span tree, logs, metrics."""
    detail = source.detail(ident)
    if detail is None:
        raise click.ClickException(f"no invocation {ident}")
    click.echo(render.detail_text(detail))
