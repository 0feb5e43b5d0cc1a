"""The collector's request handling, apart from the socket: ingest, the viewer's pages and the JSON API.

``App.handle(Request) -> Response`` is the one seam; ``zerolag.collector.asgi`` feeds it from HTTP. Before a
body is read, ``App.admit`` decides from the head alone (route, key, type, declared size) whether the body is
wanted at all, so a request without a valid key never costs its body's memory.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs, quote, unquote, urlencode

from zerolag.collector import auth, otlp_pb, pages, receiver, records
from zerolag.collector.config import CollectorConfig
from zerolag.collector.db import Reader, StoreUnavailable, UnstorableError
from zerolag.collector.limits import Budget, BudgetExceeded, decode_cost
from zerolag.collector.store import DataStore
from zerolag.collector.viewer import layout, routes
from zerolag.otlp import CONTENT_TYPE_PROTOBUF, PATHS, OtlpDecodeError, Signal

logger = logging.getLogger(__name__)

SIGNAL_FOR_PATH: Final[dict[str, Signal]] = {path: signal for signal, path in PATHS.items()}
_ROWS: Final[dict[Signal, Callable[[Mapping[str, Any], int], records.Rows]]] = {
    "traces": records.trace_rows,
    "metrics": records.metric_rows,
    "logs": records.log_rows,
}
HTML: Final = "text/html; charset=utf-8"
JSON: Final = "application/json"
FORM: Final = "application/x-www-form-urlencoded"
LOGIN_PATH: Final = "/login"
MAX_FORM_BYTES: Final = 4096
DECODE_WAIT_S: Final = 10.0  # how long a request waits for decode memory before a retryable 503

# On every response. The viewer's pages use inline style attributes but no script, no frames, no
# third-party anything; a page never needs to be framed, sniffed or to leak its URL (it may hold a filter).
SECURITY_HEADERS: Final = (
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
)


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
        self,
        config: CollectorConfig,
        store: DataStore,
        clock: Callable[[], int] = time.time_ns,
        decode_budget: Budget | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.counters = Counters()
        self._counting = threading.Lock()  # requests run on several worker threads
        self.decode_budget = decode_budget or Budget(config.max_decode_bytes)

    def access(self, headers: Mapping[str, str]) -> auth.Access:
        return auth.access(auth.key_from_headers(headers), self.config.ingest_keys, self.config.read_keys)

    def handle(self, request: Request) -> Response:
        """Any request, its body read: the head's checks (``admit``) and then what it asks for."""
        refusal = self.admit(request)
        if refusal is not None:
            return refusal
        path = _path(request.target)
        if request.method == "POST":
            if path == LOGIN_PATH:
                return self.login(request)
            return self.ingest(SIGNAL_FOR_PATH[path], request)
        return self.handle_get(request)

    def admit(self, request: Request) -> Response | None:
        """The refusal for a request, judged on its head before its body is read; ``None`` to go on."""
        path = _path(request.target)
        if request.method in ("GET", "HEAD"):
            return None
        if request.method != "POST":
            return Response(405, "text/plain", b"method not allowed\n", [("Allow", "GET, HEAD, POST")])
        declared = _content_length(request.headers)
        if path == LOGIN_PATH:
            return _admit_form(request, declared)
        signal = SIGNAL_FOR_PATH.get(path)
        media = receiver.media_type(request.headers.get("Content-Type"))
        try:
            if signal is None:
                raise receiver.ReceiverError(404, f"no OTLP endpoint at {path}")
            granted = self.access(request.headers)
            if granted is auth.Access.NONE:
                raise receiver.ReceiverError(401, "missing or unknown API key")
            if granted is not auth.Access.INGEST:
                raise receiver.ReceiverError(403, "this key may read but not ingest")
            receiver.check_content_type(request.headers.get("Content-Type"))
            if declared is not None and declared > self.config.max_body_bytes:
                raise receiver.ReceiverError(413, "body larger than the collector accepts")
        except receiver.ReceiverError as exc:
            self._refused(exc.status)
            return _reply(receiver.failure(exc.status, exc.message, media))
        return None

    def max_body(self, request: Request) -> int:
        """The most body bytes ``request`` may send."""
        return MAX_FORM_BYTES if _path(request.target) == LOGIN_PATH else self.config.max_body_bytes

    def _refused(self, status: int) -> None:
        with self._counting:
            self.counters.refused[status] = self.counters.refused.get(status, 0) + 1

    # --- ingest -----------------------------------------------------------------------------------------
    def ingest(self, signal: Signal, request: Request) -> Response:
        """One OTLP export request: authorised, decoded and stored whole, or refused with a 4xx (or a
        retryable 503 when the store or the decode memory is busy)."""
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
            with self.decode_budget.hold(decode_cost(media, len(data)), DECODE_WAIT_S):
                rows = self._rows(signal, media, data)
                del data
                self.store.ingest(rows)
        except receiver.ReceiverError as exc:
            self._refused(exc.status)
            return _reply(receiver.failure(exc.status, exc.message, media))
        except BudgetExceeded:
            self._refused(503)
            return _retry_later(receiver.failure(503, "collector busy decoding, retry later", media))
        except UnstorableError as exc:
            # the data itself cannot be stored: a retry would fail the same way, so not a 5xx
            self._refused(400)
            return _reply(receiver.failure(400, f"unstorable {signal} request: {exc}", media))
        except StoreUnavailable:
            logger.exception("storing a %s request failed", signal)
            self._refused(503)
            return _retry_later(receiver.failure(503, "store unavailable, retry later", media))
        with self._counting:
            self.counters.requests += 1
            self.counters.items += rows.count()
        return _reply(receiver.success(media))

    def _rows(self, signal: Signal, media: str, data: bytes) -> records.Rows:
        """The store rows of a request body; a malformed request, or one of the wrong shape, is a 400."""
        try:
            if signal == "traces" and media == CONTENT_TYPE_PROTOBUF:  # the hot path, without the dict form
                return otlp_pb.trace_rows(data, self.clock())
            return _ROWS[signal](receiver.decode(signal, media, data), self.clock())
        except OtlpDecodeError as exc:
            raise receiver.ReceiverError(400, f"malformed {signal} request: {exc}") from exc
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise receiver.ReceiverError(400, f"malformed {signal} request: {exc}") from exc

    # --- reading ----------------------------------------------------------------------------------------
    def handle_get(self, request: Request) -> Response:
        path, _, raw_query = request.target.partition("?")  # origin-form: "//x" is a path, not a host
        query = {k: v[-1] for k, v in parse_qs(raw_query).items()}
        public = _public(path)
        if public is not None:
            return public
        is_api = path.startswith("/api/")
        if "key" in query and not is_api:
            return self._login(path, query)
        if self.access(request.headers) is auth.Access.NONE:
            if is_api:
                return _json(401, {"error": "missing or unknown API key"})
            return _html(401, pages.key_page("This viewer needs an API key.", same_site_path(request.target)))
        try:
            with self.store.reader() as db:
                return self._route(db, path, query)
        except StoreUnavailable:
            logger.exception("reading the store failed")
            return _unavailable(is_api)

    def _login(self, path: str, query: dict[str, str]) -> Response:
        """``?key=`` in a link: a valid key becomes a cookie and the URL loses it."""
        key = query.pop("key")
        return self._key_cookie(key, path + (f"?{urlencode(query)}" if query else ""))

    def login(self, request: Request) -> Response:
        """The key form's POST (``key``, and ``next``: where to go after): the key never enters a URL."""
        try:
            form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8"), max_num_fields=8).items()}
        except (UnicodeDecodeError, ValueError):
            return _html(400, pages.key_page("That form could not be read."))
        return self._key_cookie(form.get("key", ""), form.get("next", "/"))

    def _key_cookie(self, key: str, target: str) -> Response:
        if auth.access(key, self.config.ingest_keys, self.config.read_keys) is auth.Access.NONE:
            return _html(401, pages.key_page("That key is not valid here.", same_site_path(target)))
        cookie = f"{auth.COOKIE_NAME}={quote(key, safe='')}; Path=/; HttpOnly; SameSite=Strict"
        return Response(
            303, "text/plain", b"", [("Location", same_site_path(target)), ("Set-Cookie", cookie)]
        )

    def _route(self, db: Reader, path: str, query: dict[str, str]) -> Response:
        reply = routes.route(db, path, query, self.clock())
        if reply is not None:
            return Response(reply.status, reply.content_type, reply.body, reply.headers)
        if path.startswith("/api/"):
            return _json(404, {"error": "no such endpoint"})
        return _html(404, pages.not_found_page(f"No page at {path}."))


def _public(path: str) -> Response | None:
    """The answer for a path that needs no key (``None``: any other path)."""
    if path == "/healthz":
        return Response(200, "text/plain", b"ok\n")
    if path.startswith("/static/"):  # the stylesheet and live.js: public, needed by the key form too
        return _static(path)
    return None


def _static(path: str) -> Response:
    found = layout.static_file(path.removeprefix("/static/"))
    if found is None:
        return Response(404, "text/plain", b"no such file\n")
    content_type, body = found
    return Response(200, content_type, body)


def _admit_form(request: Request, declared: int | None) -> Response | None:
    if receiver.media_type(request.headers.get("Content-Type")) != FORM:
        return Response(415, "text/plain", b"the key form posts application/x-www-form-urlencoded\n")
    if declared is not None and declared > MAX_FORM_BYTES:
        return Response(413, "text/plain", b"form too large\n")
    return None


def _path(target: str) -> str:
    return target.partition("?")[0]


def _content_length(headers: Mapping[str, str]) -> int | None:
    try:
        return int(headers.get("Content-Length", ""))
    except ValueError:
        return None


def same_site_path(target: str) -> str:
    """``target`` as a redirect that can only stay on this site: a path starting with one ``/``.

    Browsers read ``\\`` as ``/`` and drop tabs and newlines, so ``/\\evil.example`` or ``/\t/evil.example``
    would leave the site as ``//evil.example``: every character outside a path's safe set is escaped, and a
    target with a scheme or host becomes ``/``.
    """
    path, _, query = target.partition("#")[0].partition("?")
    if not path.startswith("/"):  # "https://evil.example", "javascript:..." or nonsense
        return "/"
    path = quote(unquote(path), safe="/:@!$&'()*+,;=-._~")
    query = quote(query, safe="=&:@!$'()*+,;/?-._~%")
    return "/" + path.lstrip("/") + (f"?{query}" if query else "")


def _reply(reply: receiver.Reply) -> Response:
    return Response(reply.status, reply.content_type, reply.body)


def _unavailable(is_api: bool) -> Response:
    if is_api:
        return _json(503, {"error": "store unavailable, retry later"})
    return _html(503, pages.not_found_page("The store is unavailable; try again shortly."))


def _retry_later(reply: receiver.Reply) -> Response:
    return Response(reply.status, reply.content_type, reply.body, [("Retry-After", "1")])


def _html(status: int, page: str) -> Response:
    return Response(status, HTML, page.encode())


def _json(status: int, value: object) -> Response:
    return Response(status, JSON, json.dumps(value, default=str).encode())
