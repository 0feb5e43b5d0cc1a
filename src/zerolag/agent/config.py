"""The agent's configuration: one typed, frozen object built from the environment in one place.

Bad values never fail the function: each one gives a warning on stderr and the default. Every variable is
documented in docs/agent.md (a test keeps that table and ``ENV_VARS`` in sync).

No imports beyond ``os`` and ``sys``: this runs during the function's cold start.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

EXPORTERS = ("extension", "otlp", "stdout", "none")
DEFAULT_REDACT_KEYS = ("authorization", "cookie", "password", "token", "secret")
INSTRUMENTATIONS = (
    "botocore",
    "urllib3",
    "requests",
    "http.client",
    "logging",
    "opentelemetry",
    "threading",
    "futures",
)
EXTENSION_MARKER = "/opt/extensions/zerolag"

# name -> one-line description (the docs table is checked against this).
ENV_VARS = {
    "ZEROLAG_ENABLED": "`false` turns the agent off: the handler runs bare (default `true`)",
    "ZEROLAG_REPORT_LOCAL": "`true`: hand data to the extension; `false`: export directly; unset: detect "
    "`/opt/extensions/zerolag`",
    "ZEROLAG_EXPORTER": "force an exporter: `extension`, `otlp`, `stdout` or `none`",
    "ZEROLAG_EXTENSION_PORT": "the extension's OTLP port on 127.0.0.1 (default `4318`)",
    "ZEROLAG_OTLP_ENDPOINT": "base URL of an OTLP/HTTP backend for the direct exporter",
    "ZEROLAG_OTLP_HEADERS": "headers for the direct exporter, `k=v,k2=v2`",
    "ZEROLAG_SAMPLE_RATIO": "head sampling ratio for new traces, 0..1 (default `1`)",
    "ZEROLAG_REDACT_KEYS": "extra sensitive keys, comma-separated (substring, case-insensitive)",
    "ZEROLAG_TIMEOUT_MARGIN_MS": "report open spans this long before the deadline (default `200`)",
    "ZEROLAG_EXPORT_TIMEOUT_MS": "bound on one export (default `1000`)",
    "ZEROLAG_CAPTURE_LOGS": "capture `logging` records (default `true`)",
    "ZEROLAG_CAPTURE_STDOUT": "capture stdout lines (default `true`)",
    "ZEROLAG_CAPTURE_EVENT": "attach the (redacted) event to the invocation span (default `false`)",
    "ZEROLAG_CAPTURE_HEADERS": "record HTTP request headers of the trigger (redacted, default `true`)",
    "ZEROLAG_DISABLE_INSTRUMENTATIONS": "comma-separated: botocore, urllib3, requests, http.client, logging, "
    "opentelemetry, threading, futures",
    "ZEROLAG_MAX_SPANS": "spans kept per invocation, the rest counted as dropped (default `1000`)",
    "ZEROLAG_MAX_LOGS": "log records kept per invocation (default `1000`)",
    "ZEROLAG_SERVICE_NAME": "service.name (default `OTEL_SERVICE_NAME`, then the function name)",
}


class Config:
    """Everything the agent reads from the environment, frozen after construction."""

    __slots__ = (
        "capture_event",
        "capture_headers",
        "capture_logs",
        "capture_stdout",
        "disabled_instrumentations",
        "enabled",
        "export_timeout_s",
        "exporter",
        "extension_port",
        "max_logs",
        "max_spans",
        "otlp_endpoint",
        "otlp_headers",
        "redact_keys",
        "sample_ratio",
        "service_name",
        "timeout_margin_s",
        "warnings",
    )

    enabled: bool
    exporter: str
    extension_port: int
    otlp_endpoint: str
    otlp_headers: tuple[tuple[str, str], ...]
    sample_ratio: float
    redact_keys: tuple[str, ...]
    timeout_margin_s: float
    export_timeout_s: float
    capture_logs: bool
    capture_stdout: bool
    capture_event: bool
    capture_headers: bool
    disabled_instrumentations: frozenset[str]
    max_spans: int
    max_logs: int
    service_name: str
    warnings: tuple[str, ...]

    def __init__(self, **values: object) -> None:
        for name in self.__slots__:
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Config is frozen")

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"Config({inner})"


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.warnings: list[str] = []

    def _bad(self, name: str, raw: str, default: object) -> None:
        self.warnings.append(f"zerolag: ignoring {name}={raw!r}, using {default!r}")

    def bool(self, name: str, default: bool) -> bool:
        raw = self.env.get(name, "").strip().lower()
        if not raw:
            return default
        if raw in ("1", "true", "yes", "on"):
            return True
        if raw in ("0", "false", "no", "off"):
            return False
        self._bad(name, raw, default)
        return default

    def number(self, name: str, default: float, low: float, high: float) -> float:
        raw = self.env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not low <= value <= high:
            self._bad(name, raw, default)
            return default
        return value

    def csv(self, name: str) -> list[str]:
        return [p.strip().lower() for p in self.env.get(name, "").split(",") if p.strip()]


def _headers(reader: _Reader) -> tuple[tuple[str, str], ...]:
    raw = reader.env.get("ZEROLAG_OTLP_HEADERS", "")
    pairs: list[tuple[str, str]] = []
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            reader._bad("ZEROLAG_OTLP_HEADERS", item, "skipped")
            continue
        pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


def _exporter(reader: _Reader, otlp_endpoint: str) -> str:
    forced = reader.env.get("ZEROLAG_EXPORTER", "").strip().lower()
    if forced in EXPORTERS:
        return forced
    if forced:
        reader._bad("ZEROLAG_EXPORTER", forced, "auto")
    local_raw = reader.env.get("ZEROLAG_REPORT_LOCAL", "").strip()
    local = reader.bool("ZEROLAG_REPORT_LOCAL", False) if local_raw else os.path.exists(EXTENSION_MARKER)
    if local:
        return "extension"
    return "otlp" if otlp_endpoint else "stdout"


def load(env: Mapping[str, str] | None = None) -> Config:
    """Build the configuration from ``env`` (default ``os.environ``); bad values: warnings, defaults."""
    r = _Reader(os.environ if env is None else env)
    endpoint = r.env.get("ZEROLAG_OTLP_ENDPOINT", "").strip().rstrip("/")
    if endpoint and not endpoint.startswith(("http://", "https://")):
        r._bad("ZEROLAG_OTLP_ENDPOINT", endpoint, "")
        endpoint = ""
    exporter = _exporter(r, endpoint)
    if exporter == "otlp" and not endpoint:
        r.warnings.append("zerolag: ZEROLAG_EXPORTER=otlp needs ZEROLAG_OTLP_ENDPOINT, using stdout")
        exporter = "stdout"
    disabled = frozenset(r.csv("ZEROLAG_DISABLE_INSTRUMENTATIONS"))
    for name in sorted(disabled - set(INSTRUMENTATIONS)):
        r.warnings.append(f"zerolag: unknown instrumentation {name!r} in ZEROLAG_DISABLE_INSTRUMENTATIONS")
    service = (
        r.env.get("ZEROLAG_SERVICE_NAME")
        or r.env.get("OTEL_SERVICE_NAME")
        or r.env.get("AWS_LAMBDA_FUNCTION_NAME")
        or "unknown_service"
    )
    return Config(
        enabled=r.bool("ZEROLAG_ENABLED", True),
        exporter=exporter,
        extension_port=int(r.number("ZEROLAG_EXTENSION_PORT", 4318, 1, 65535)),
        otlp_endpoint=endpoint,
        otlp_headers=_headers(r),
        sample_ratio=r.number("ZEROLAG_SAMPLE_RATIO", 1.0, 0.0, 1.0),
        redact_keys=DEFAULT_REDACT_KEYS + tuple(r.csv("ZEROLAG_REDACT_KEYS")),
        timeout_margin_s=r.number("ZEROLAG_TIMEOUT_MARGIN_MS", 200, 0, 60_000) / 1000,
        export_timeout_s=r.number("ZEROLAG_EXPORT_TIMEOUT_MS", 1000, 1, 60_000) / 1000,
        capture_logs=r.bool("ZEROLAG_CAPTURE_LOGS", True),
        capture_stdout=r.bool("ZEROLAG_CAPTURE_STDOUT", True),
        capture_event=r.bool("ZEROLAG_CAPTURE_EVENT", False),
        capture_headers=r.bool("ZEROLAG_CAPTURE_HEADERS", True),
        disabled_instrumentations=disabled,
        max_spans=int(r.number("ZEROLAG_MAX_SPANS", 1000, 1, 1_000_000)),
        max_logs=int(r.number("ZEROLAG_MAX_LOGS", 1000, 0, 1_000_000)),
        service_name=service,
        warnings=tuple(r.warnings),
    )


def report_warnings(config: Config) -> None:
    """Print the configuration warnings on stderr (CloudWatch), once, at setup."""
    for line in config.warnings:
        sys.stderr.write(line + "\n")
