"""The collector's request handling, apart from the socket: ingest, the viewer's pages and the JSON API.

``App.handle(Request) -> Response`` is the one seam; ``zerolag.collector.server`` feeds it from HTTP.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from zerolag.collector import auth, pages, receiver, records
from zerolag.collector.config import CollectorConfig
from zerolag.collector.store import Store
from zerolag.collector.viewer import layout, routes
from zerolag.otlp import PATHS, Signal

logger = logging.getLogger(__name__)

SIGNAL_FOR_PATH: Final[dict[str, Signal]] = {path: signal for signal, path in PATHS.items()}
_ROWS: Final[dict[Signal, Callable[[Mapping[str, Any], int], records.Rows]]] = {
    "traces": records.trace_rows,
    "metrics": records.metric_rows,
    "logs": records.log_rows,
}
HTML: Final = "text/html; charset=utf-8"
JSON: Final = "application/json"


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query, as sent
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass
class Response:
    status: int
    content_type: str
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Counters:
    """What ingest accepted and refused (never per-request log lines)."""

    requests: int = 0
    items: int = 0
    refused: dict[int, int] = field(default_factory=dict)


class App:
    """Routes requests to ingest, pages and API over one store."""

    def __init__(
        self, config: CollectorConfig, store: Store, clock: Callable[[], int] = time.time_ns
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.counters = Counters()

    def access(self, headers: Mapping[str, str]) -> auth.Access:
        return auth.access(auth.key_from_headers(headers), self.config.ingest_keys, self.config.read_keys)

    # --- ingest -----------------------------------------------------------------------------------------
    def ingest(self, signal: Signal, request: Request) -> Response:
        """One OTLP export request: authorised, decoded and stored whole, or refused with a 4xx."""
        media = receiver.media_type(request.headers.get("Content-Type"))
        try:
            granted = self.access(request.headers)
            if granted is auth.Access.NONE:
                raise receiver.ReceiverError(401, "missing or unknown API key")
            if granted is not auth.Access.INGEST:
                raise receiver.ReceiverError(403, "this key may read but not ingest")
            media = receiver.check_content_type(request.headers.get("Content-Type"))
            data = receiver.inflate(
                request.body, request.headers.get("Content-Encoding"), self.config.max_body_bytes
            )
            rows = self._rows(signal, receiver.decode(signal, media, data))
        except receiver.ReceiverError as exc:
            self.counters.refused[exc.status] = self.counters.refused.get(exc.status, 0) + 1
            return _reply(receiver.failure(exc.status, exc.message, media))
        try:
            self.store.ingest(rows)
        except (sqlite3.IntegrityError, sqlite3.InterfaceError, OverflowError) as exc:
            # the data itself cannot be stored: a retry would fail the same way, so not a 5xx
            return _reply(receiver.failure(400, f"unstorable {signal} request: {exc}", media))
        except sqlite3.Error:
            logger.exception("storing a %s request failed", signal)
            return _reply(receiver.failure(503, "store unavailable, retry later", media))
        self.counters.requests += 1
        self.counters.items += rows.count()
        return _reply(receiver.success(media))

    def _rows(self, signal: Signal, request: Mapping[str, Any]) -> records.Rows:
        """The store rows of a decoded request; a request of the wrong shape is a 400."""
        try:
            return _ROWS[signal](request, self.clock())
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise receiver.ReceiverError(400, f"malformed {signal} request: {exc}") from exc

    # --- reading ----------------------------------------------------------------------------------------
    def handle_get(self, request: Request) -> Response:
        url = urlsplit(request.target)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        path = url.path
        if path == "/healthz":
            return Response(200, "text/plain", b"ok\n")
        if path.startswith("/static/"):  # the stylesheet and live.js: public, needed by the key form too
            return _static(path)
        is_api = path.startswith("/api/")
        if "key" in query and not is_api:
            return self._login(path, query)
        if self.access(request.headers) is auth.Access.NONE:
            if is_api:
                return _json(401, {"error": "missing or unknown API key"})
            return _html(401, pages.key_page("This viewer needs an API key."))
        with self.store.reader() as db:
            return self._route(db, path, query)

    def _login(self, path: str, query: dict[str, str]) -> Response:
        """``?key=`` from a browser: a valid key becomes a cookie and the URL loses it."""
        key = query.pop("key")
        if auth.access(key, self.config.ingest_keys, self.config.read_keys) is auth.Access.NONE:
            return _html(401, pages.key_page("That key is not valid here."))
        # "/" + lstrip: a path like "//evil.example" must not become a redirect to another host
        location = "/" + path.lstrip("/") + (f"?{urlencode(query)}" if query else "")
        cookie = f"{auth.COOKIE_NAME}={quote(key, safe='')}; Path=/; HttpOnly; SameSite=Strict"
        return Response(303, "text/plain", b"", [("Location", location), ("Set-Cookie", cookie)])

    def _route(self, db: sqlite3.Connection, path: str, query: dict[str, str]) -> Response:
        reply = routes.route(db, path, query, self.clock())
        if reply is not None:
            return Response(reply.status, reply.content_type, reply.body, reply.headers)
        if path.startswith("/api/"):
            return _json(404, {"error": "no such endpoint"})
        return _html(404, pages.not_found_page(f"No page at {path}."))


def _static(path: str) -> Response:
    found = layout.static_file(path.removeprefix("/static/"))
    if found is None:
        return Response(404, "text/plain", b"no such file\n")
    content_type, body = found
    return Response(200, content_type, body)


def _reply(reply: receiver.Reply) -> Response:
    return Response(reply.status, reply.content_type, reply.body)


def _html(status: int, page: str) -> Response:
    return Response(status, HTML, page.encode())


def _json(status: int, value: object) -> Response:
    return Response(status, JSON, json.dumps(value, default=str).encode())
