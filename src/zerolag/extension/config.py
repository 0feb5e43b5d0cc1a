"""The extension's one typed, frozen configuration, read from the environment in one place.

Every variable is declared once in ``VARIABLES`` (name, default, description); ``docs/configuration.md`` holds
the same table and a test keeps the two in sync. An invalid value raises ``ConfigError`` naming the variable,
which the entry point turns into ``/extension/init/error``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from zerolag.extension.flush import FlushStrategy, parse_flush


class ConfigError(ValueError):
    """A configuration variable holds an invalid value; ``variable`` names it."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    description: str


VARIABLES: Final[tuple[Variable, ...]] = (
    Variable(
        "ZEROLAG_OTLP_ENDPOINT",
        "",
        "OTLP/HTTP base URL of the backend (`/v1/<signal>` is appended). "
        "Unset: telemetry is received and counted as dropped. A `user:password@` in it is sent as "
        "`Authorization: Basic` (unless the headers set one) and shown as `***@` in every message.",
    ),
    Variable(
        "ZEROLAG_OTLP_HEADERS",
        "",
        "Headers sent to the backend, `k1=v1,k2=v2` (URL-encoded values, as "
        "`OTEL_EXPORTER_OTLP_HEADERS`). Never logged.",
    ),
    Variable(
        "ZEROLAG_EXTENSION_PORT", "4318", "Loopback port of the OTLP/HTTP receiver (0 = any free port)."
    ),
    Variable(
        "ZEROLAG_THUNDRA_PORT", "3333", "Loopback port bound early for the Thundra-compatible receiver."
    ),
    Variable(
        "ZEROLAG_FLUSH", "adaptive", "Flush strategy: `end`, `periodic,<ms>`, `continuous` or `adaptive`."
    ),
    Variable(
        "ZEROLAG_FLUSH_BUDGET_MS",
        "200",
        "Most time spent after the response on one end-of-invocation "
        "flush (also capped by the deadline minus the margin).",
    ),
    Variable(
        "ZEROLAG_DEADLINE_MARGIN_MS",
        "50",
        "Safety margin kept before an invocation's or SHUTDOWN's deadline.",
    ),
    Variable(
        "ZEROLAG_MAX_DELAY_MS",
        "10000",
        "Adaptive: data older than this is flushed at the end of the "
        "invocation even while invocations are frequent.",
    ),
    Variable(
        "ZEROLAG_BUFFER_BYTES",
        "8388608",
        "In-memory buffer bound (bytes of protobuf); beyond it data spills to the disk spool.",
    ),
    Variable("ZEROLAG_BATCH_BYTES", "1048576", "Largest uncompressed batch sent in one request."),
    Variable(
        "ZEROLAG_MAX_REQUEST_BYTES", "16777216", "Largest accepted request body, after gunzip (413 above)."
    ),
    Variable(
        "ZEROLAG_INTAKE_MEMORY_BYTES",
        "41943040",
        "Memory all receivers together may hold in request bodies and their decoding at once (a JSON "
        "request counts twice its size plus 8 MiB); a request that cannot get its share within 10 s is "
        "answered 503 with `Retry-After`.",
    ),
    Variable("ZEROLAG_SPOOL_DIR", "/tmp/zerolag-spool", "Directory of the disk spool."),  # noqa: S108
    Variable(
        "ZEROLAG_SPOOL_BYTES",
        "268435456",
        "Disk spool bound; beyond it the oldest data is dropped (counted).",
    ),
    Variable("ZEROLAG_SEND_TIMEOUT_MS", "5000", "Timeout of one request to the backend."),
    Variable("ZEROLAG_RETRY_MAX_MS", "30000", "Cap of the retry backoff (and of an honoured `Retry-After`)."),
    Variable("ZEROLAG_BREAKER_FAILURES", "3", "Consecutive failed sends that open the circuit breaker."),
    Variable("ZEROLAG_BREAKER_OPEN_MS", "5000", "How long the open breaker refuses sends before one probe."),
    Variable("ZEROLAG_SELF_METRICS", "true", "Export the extension's own counters as OTLP metrics."),
    Variable(
        "ZEROLAG_EXTENSION_NAME",
        "zerolag",
        "Name registered with the Extensions API (the layer's file name).",
    ),
    Variable("ZEROLAG_LOG_LEVEL", "info", "Extension log level: `debug`, `info`, `warning` or `error`."),
)

_DEFAULTS: Final = {v.name: v.default for v in VARIABLES}
LOG_LEVELS: Final = ("debug", "info", "warning", "error")
LOOPBACK_HOSTS: Final = frozenset(
    {"127.0.0.1", "localhost", "::1", "0.0.0.0", "sandbox", "sandbox.localdomain"}
)


@dataclass(frozen=True)
class ExtensionConfig:
    """Every setting of the extension (see ``VARIABLES`` for meaning and defaults)."""

    otlp_endpoint: str = ""
    otlp_headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    port: int = 4318
    thundra_port: int = 3333
    flush: FlushStrategy = field(default_factory=lambda: parse_flush("adaptive"))
    flush_budget_ms: int = 200
    deadline_margin_ms: int = 50
    max_delay_ms: int = 10000
    buffer_bytes: int = 8 * 1024 * 1024
    batch_bytes: int = 1024 * 1024
    max_request_bytes: int = 16 * 1024 * 1024
    intake_memory_bytes: int = 40 * 1024 * 1024
    spool_dir: str = "/tmp/zerolag-spool"  # noqa: S108 - /tmp is the only writable place in Lambda
    spool_bytes: int = 256 * 1024 * 1024
    send_timeout_ms: int = 5000
    retry_max_ms: int = 30000
    breaker_failures: int = 3
    breaker_open_ms: int = 5000
    self_metrics: bool = True
    log_level: str = "info"


def _int(env: Mapping[str, str], name: str, low: int, high: int) -> int:
    raw = env.get(name, "").strip() or _DEFAULTS[name]
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"{raw!r} is not an integer") from None
    if not low <= value <= high:
        raise ConfigError(name, f"{value} is outside {low}..{high}")
    return value


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name, "").strip() or _DEFAULTS[name]).lower()
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    raise ConfigError(name, f"{raw!r} is not a boolean (true/false)")


_TOKEN_CHARS: Final = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


def header_value_problem(value: str) -> str | None:
    """Why ``value`` cannot be sent as an HTTP header value (``http.client`` sends latin-1, and a control
    character would end or split the header), or None. The reason never quotes the value."""
    if any(c in value for c in "\r\n"):
        return "contains a line break"
    if any(ord(c) > 0xFF for c in value):
        return "contains characters outside latin-1 (HTTP header values are latin-1)"
    if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in value):
        return "contains a control character"
    return None


def parse_headers(raw: str, name: str = "ZEROLAG_OTLP_HEADERS") -> tuple[tuple[str, str], ...]:
    """``k1=v1,k2=v2`` with URL-encoded values, as ``OTEL_EXPORTER_OTLP_HEADERS``. Every name must be an
    HTTP token and every value sendable (``header_value_problem``); errors name the variable and the header,
    never a value."""
    from urllib.parse import unquote

    headers: list[tuple[str, str]] = []
    for part in raw.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = unquote(key).strip()
        if not sep or not key or not _TOKEN_CHARS.issuperset(key):
            raise ConfigError(name, f"entry {len(headers) + 1} is not key=value with a valid header name")
        try:
            value = unquote(value, errors="strict").strip()
        except UnicodeDecodeError:
            raise ConfigError(name, f"the value of {key!r} is not valid URL-encoded UTF-8") from None
        problem = header_value_problem(value)
        if problem is not None:
            raise ConfigError(name, f"the value of {key!r} {problem}")
        headers.append((key, value))
    return tuple(headers)


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@`` (for messages)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    return f"{scheme}{sep}{authority}{slash}{path}"


def _endpoint(env: Mapping[str, str], own_port: int) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The endpoint without credentials, and the ``Authorization: Basic`` header its ``user:password@``
    asked for (as curl and every HTTP client do). Messages show the URL redacted."""
    name = "ZEROLAG_OTLP_ENDPOINT"
    raw = env.get(name, "").strip().rstrip("/")
    if not raw:
        return "", ()
    shown = redact_url(raw)
    try:
        parts = urlsplit(raw)
        hostname = parts.hostname
    except ValueError:
        raise ConfigError(name, f"{shown!r} is not an http(s) URL") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise ConfigError(name, f"{shown!r} is not an http(s) URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ConfigError(name, f"{shown!r} has an invalid port") from None
    if hostname in LOOPBACK_HOSTS and port == own_port:
        raise ConfigError(name, f"{shown!r} is the extension's own receiver: it would forward to itself")
    if "@" not in parts.netloc:
        return raw, ()
    from base64 import b64encode
    from urllib.parse import unquote

    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    token = b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
    bare = parts._replace(netloc=hostport).geturl()
    return bare, (("Authorization", f"Basic {token}"),)


def load_config(env: Mapping[str, str]) -> ExtensionConfig:
    """Build the configuration from ``env``; raises ``ConfigError`` naming the first invalid variable."""
    port = _int(env, "ZEROLAG_EXTENSION_PORT", 0, 65535)
    flush_raw = env.get("ZEROLAG_FLUSH", "").strip() or _DEFAULTS["ZEROLAG_FLUSH"]
    try:
        flush = parse_flush(flush_raw)
    except ValueError as exc:
        raise ConfigError("ZEROLAG_FLUSH", str(exc)) from None
    level = (env.get("ZEROLAG_LOG_LEVEL", "").strip() or "info").lower()
    if level not in LOG_LEVELS:
        raise ConfigError("ZEROLAG_LOG_LEVEL", f"{level!r} is not one of {', '.join(LOG_LEVELS)}")
    spool_dir = env.get("ZEROLAG_SPOOL_DIR", "").strip() or _DEFAULTS["ZEROLAG_SPOOL_DIR"]
    if not spool_dir.startswith("/"):
        raise ConfigError("ZEROLAG_SPOOL_DIR", f"{spool_dir!r} is not an absolute path")
    endpoint, url_auth = _endpoint(env, port)
    headers = parse_headers(env.get("ZEROLAG_OTLP_HEADERS", ""))
    if url_auth and not any(key.lower() == "authorization" for key, _ in headers):
        headers = (*headers, *url_auth)
    return ExtensionConfig(
        otlp_endpoint=endpoint,
        otlp_headers=headers,
        port=port,
        thundra_port=_int(env, "ZEROLAG_THUNDRA_PORT", 0, 65535),
        flush=flush,
        flush_budget_ms=_int(env, "ZEROLAG_FLUSH_BUDGET_MS", 0, 60_000),
        deadline_margin_ms=_int(env, "ZEROLAG_DEADLINE_MARGIN_MS", 0, 10_000),
        max_delay_ms=_int(env, "ZEROLAG_MAX_DELAY_MS", 0, 3_600_000),
        buffer_bytes=_int(env, "ZEROLAG_BUFFER_BYTES", 64 * 1024, 1 << 31),
        batch_bytes=_int(env, "ZEROLAG_BATCH_BYTES", 1024, 64 * 1024 * 1024),
        max_request_bytes=_int(env, "ZEROLAG_MAX_REQUEST_BYTES", 1024, 256 * 1024 * 1024),
        intake_memory_bytes=_int(env, "ZEROLAG_INTAKE_MEMORY_BYTES", 1 << 20, 1 << 34),
        spool_dir=spool_dir,
        spool_bytes=_int(env, "ZEROLAG_SPOOL_BYTES", 0, 1 << 40),
        send_timeout_ms=_int(env, "ZEROLAG_SEND_TIMEOUT_MS", 10, 600_000),
        retry_max_ms=_int(env, "ZEROLAG_RETRY_MAX_MS", 10, 3_600_000),
        breaker_failures=_int(env, "ZEROLAG_BREAKER_FAILURES", 1, 1000),
        breaker_open_ms=_int(env, "ZEROLAG_BREAKER_OPEN_MS", 1, 3_600_000),
        self_metrics=_bool(env, "ZEROLAG_SELF_METRICS"),
        log_level=level,
    )
