"""The SQLite schema of the collector's store, and the statements that write it.

Times are integer nanoseconds since the epoch (as in OTLP); durations are float milliseconds and memory
float MB, as Lambda reports them. Indexes follow the viewer's queries: invocations by time, by function and
status; the spans, logs and metric points of one invocation by request id or trace id; everything by time
for retention; spans by function and by kind, logs by function and severity, for the viewer's range
pages. The functions overview reads a covering index (function, time, then every column it aggregates)
so it never touches the table; metric points have one for the post-runtime sums and the metric charts.
"""

from __future__ import annotations

from typing import Final

PRAGMAS: Final = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=30000",
)

# auto_vacuum must be chosen before the first table exists; incremental lets size retention give pages back.
CREATE_PRAGMAS: Final = ("PRAGMA auto_vacuum=INCREMENTAL",)

DDL: Final = """
CREATE TABLE IF NOT EXISTS invocations (
    request_id     TEXT PRIMARY KEY,
    function       TEXT,
    trace_id       TEXT,
    span_id        TEXT,
    start_ns       INTEGER NOT NULL,
    duration_ms    REAL,
    billed_ms      REAL,
    init_ms        REAL,
    cold_start     INTEGER,
    memory_used_mb REAL,
    memory_size_mb REAL,
    status         TEXT NOT NULL,
    status_rank    INTEGER NOT NULL,
    error_type     TEXT,
    trigger        TEXT
);
CREATE INDEX IF NOT EXISTS invocations_start ON invocations(start_ns);
CREATE INDEX IF NOT EXISTS invocations_function ON invocations(function, start_ns);
CREATE INDEX IF NOT EXISTS invocations_status ON invocations(status, start_ns);
CREATE INDEX IF NOT EXISTS invocations_trace ON invocations(trace_id);
CREATE INDEX IF NOT EXISTS invocations_overview ON invocations(
    function, start_ns, status, cold_start, duration_ms, billed_ms, init_ms, memory_used_mb, memory_size_mb
);

CREATE TABLE IF NOT EXISTS spans (
    id             INTEGER PRIMARY KEY,
    trace_id       TEXT NOT NULL,
    span_id        TEXT NOT NULL,
    parent_span_id TEXT,
    name           TEXT NOT NULL,
    kind           INTEGER NOT NULL,
    start_ns       INTEGER NOT NULL,
    end_ns         INTEGER NOT NULL,
    status_code    INTEGER NOT NULL,
    status_message TEXT,
    function       TEXT,
    request_id     TEXT,
    attributes     TEXT NOT NULL,
    resource       TEXT NOT NULL,
    UNIQUE (trace_id, span_id)
);
CREATE INDEX IF NOT EXISTS spans_start ON spans(start_ns);
CREATE INDEX IF NOT EXISTS spans_request ON spans(request_id);
CREATE INDEX IF NOT EXISTS spans_function ON spans(function, start_ns);
CREATE INDEX IF NOT EXISTS spans_kind ON spans(kind, start_ns);

CREATE TABLE IF NOT EXISTS span_events (
    span_pk    INTEGER NOT NULL,
    time_ns    INTEGER NOT NULL,
    name       TEXT NOT NULL,
    attributes TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS span_events_span ON span_events(span_pk);

CREATE TABLE IF NOT EXISTS span_links (
    span_pk    INTEGER NOT NULL,
    trace_id   TEXT NOT NULL,
    span_id    TEXT NOT NULL,
    attributes TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS span_links_span ON span_links(span_pk);
CREATE INDEX IF NOT EXISTS span_links_trace ON span_links(trace_id);

CREATE TABLE IF NOT EXISTS logs (
    id              INTEGER PRIMARY KEY,
    time_ns         INTEGER NOT NULL,
    function        TEXT,
    request_id      TEXT,
    trace_id        TEXT,
    span_id         TEXT,
    severity_number INTEGER NOT NULL,
    severity_text   TEXT,
    body            TEXT NOT NULL,
    attributes      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_time ON logs(time_ns);
CREATE INDEX IF NOT EXISTS logs_request ON logs(request_id);
CREATE INDEX IF NOT EXISTS logs_trace ON logs(trace_id);
CREATE INDEX IF NOT EXISTS logs_function ON logs(function, time_ns);
CREATE INDEX IF NOT EXISTS logs_severity ON logs(severity_number, time_ns);

CREATE TABLE IF NOT EXISTS metric_points (
    id         INTEGER PRIMARY KEY,
    time_ns    INTEGER NOT NULL,
    function   TEXT,
    request_id TEXT,
    name       TEXT NOT NULL,
    unit       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    value      REAL NOT NULL,
    count      INTEGER,
    sum        REAL,
    attributes TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS metric_points_time ON metric_points(time_ns);
CREATE INDEX IF NOT EXISTS metric_points_request ON metric_points(request_id);
CREATE INDEX IF NOT EXISTS metric_points_series ON metric_points(name, function, time_ns, value);
"""

INSERT_SPAN: Final = """
INSERT INTO spans (trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status_code,
                   status_message, function, request_id, attributes, resource)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (trace_id, span_id) DO NOTHING
"""
INSERT_EVENT: Final = "INSERT INTO span_events (span_pk, time_ns, name, attributes) VALUES (?, ?, ?, ?)"
INSERT_LINK: Final = "INSERT INTO span_links (span_pk, trace_id, span_id, attributes) VALUES (?, ?, ?, ?)"
INSERT_LOG: Final = """
INSERT INTO logs (time_ns, function, request_id, trace_id, span_id, severity_number, severity_text, body,
                  attributes)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
INSERT_POINT: Final = """
INSERT INTO metric_points (time_ns, function, request_id, name, unit, kind, value, count, sum, attributes)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

_FILLED: Final = ("function", "trace_id", "span_id", "trigger")
_NUMBERS: Final = ("duration_ms", "billed_ms", "init_ms", "memory_used_mb", "memory_size_mb")


def _upsert_invocation(authoritative: bool) -> str:
    """Merge one invocation fact into its row: identities fill gaps, the worse status wins, and platform
    numbers (``authoritative``) overwrite what a span said while span numbers only fill gaps.

    Portable SQL (SQLite and PostgreSQL): the stored row is ``invocations.``, the new one ``excluded.``, and
    the larger/smaller of two values is a ``CASE`` (SQLite has no ``GREATEST``, PostgreSQL no ``MAX(a, b)``).
    """
    old = "invocations"
    numbers = [
        f"{c} = COALESCE(excluded.{c}, {old}.{c})"
        if authoritative
        else f"{c} = COALESCE({old}.{c}, excluded.{c})"
        for c in _NUMBERS
    ]
    filled = [f"{c} = COALESCE({old}.{c}, excluded.{c})" for c in _FILLED]
    worse = f"excluded.status_rank > {old}.status_rank"
    return f"""
INSERT INTO invocations (request_id, function, trace_id, span_id, start_ns, duration_ms, billed_ms, init_ms,
                         cold_start, memory_used_mb, memory_size_mb, status, status_rank, error_type, trigger)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (request_id) DO UPDATE SET
    {", ".join(filled + numbers)},
    start_ns = CASE WHEN excluded.start_ns < {old}.start_ns THEN excluded.start_ns ELSE {old}.start_ns END,
    cold_start = CASE WHEN excluded.cold_start IS NULL THEN {old}.cold_start
                      WHEN {old}.cold_start IS NULL THEN excluded.cold_start
                      WHEN excluded.cold_start > {old}.cold_start THEN excluded.cold_start
                      ELSE {old}.cold_start END,
    status = CASE WHEN {worse} THEN excluded.status ELSE {old}.status END,
    error_type = CASE WHEN {worse} THEN excluded.error_type
                      ELSE COALESCE({old}.error_type, excluded.error_type) END,
    status_rank = CASE WHEN {worse} THEN excluded.status_rank ELSE {old}.status_rank END
"""  # noqa: S608 (fixed column names only)


UPSERT_INVOCATION_FILL: Final = _upsert_invocation(authoritative=False)
UPSERT_INVOCATION_OVERRIDE: Final = _upsert_invocation(authoritative=True)


def postgresql_ddl() -> str:
    """The same tables for PostgreSQL: 64-bit integers, identity keys, double precision."""
    ddl = DDL.replace(
        "id             INTEGER PRIMARY KEY",
        "id             BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    )
    ddl = ddl.replace(
        "id              INTEGER PRIMARY KEY",
        "id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    )
    ddl = ddl.replace(
        "id         INTEGER PRIMARY KEY", "id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    )
    ddl = ddl.replace("INTEGER", "BIGINT").replace("REAL", "DOUBLE PRECISION")
    return ddl


INSERT_SPAN_RETURNING: Final = INSERT_SPAN.rstrip() + " RETURNING id"
