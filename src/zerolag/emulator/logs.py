"""Function and extension log lines, as the platform captures them, and CloudWatch-style platform lines. Pure.

awslambdaric 4.2.2 writes (contract section 6):
- text format: ``[LEVEL]\\t<ISO ts>Z\\t<requestId>\\t<msg>`` for ``logging`` records,
  ``[ERROR] Type: msg\\rTraceback…`` for uncaught errors (``\\r`` joins the lines of one record),
  and anything ``print`` writes as it is;
- JSON format (``AWS_LAMBDA_LOG_FORMAT=JSON``): one object per line
  ``{"timestamp","level","message","requestId",…}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Final

LOG_FORMAT_TEXT: Final = "Text"
LOG_FORMAT_JSON: Final = "JSON"
LOG_SOURCES: Final = ("function", "extension")

_TEXT_RECORD = re.compile(
    r"^\[(?P<level>[A-Z]+)\]\t(?P<ts>\d{4}-\d\d-\d\dT[0-9:.]+Z?)\t(?P<rid>[^\t]*)\t(?P<msg>.*)$", re.S
)
_TEXT_ERROR = re.compile(r"^\[(?P<level>ERROR|CRITICAL|FATAL)\] (?P<msg>.*)$", re.S)


@dataclass(frozen=True)
class LogLine:
    """One captured line: the raw text plus what could be read out of it."""

    source: str
    text: str
    request_id: str | None = None
    level: str | None = None
    timestamp: str | None = None
    message: str | None = None
    fields: dict[str, Any] | None = field(default=None)  # the parsed object of a JSON-format line

    @property
    def display(self) -> str:
        """The line as CloudWatch shows it: ``\\r``-joined records on separate lines."""
        return self.text.replace("\r", "\n")


def iso_now() -> str:
    """Current UTC time as ISO-8601 with milliseconds and a ``Z``: the Telemetry API's ``time`` format."""
    return iso_time(datetime.now(timezone.utc))


def iso_time(moment: datetime) -> str:
    """``moment`` (aware) as ISO-8601 UTC with milliseconds and a ``Z``."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_line(source: str, line: str, *, log_format: str, request_id: str | None) -> LogLine:
    """Read one stdout/stderr line; ``request_id`` is the invocation running when it was written."""
    text = line.rstrip("\n")
    if log_format == LOG_FORMAT_JSON:
        parsed = _parse_json(source, text, request_id)
        if parsed is not None:
            return parsed
    return _parse_text(source, text, request_id)


def _parse_json(source: str, text: str, request_id: str | None) -> LogLine | None:
    if not text.startswith("{"):
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    rid = doc.get("requestId")
    message = doc.get("message", doc.get("errorMessage"))
    return LogLine(
        source=source,
        text=text,
        request_id=rid if isinstance(rid, str) and rid else request_id,
        level=_str_or_none(doc.get("level")),
        timestamp=_str_or_none(doc.get("timestamp")),
        message=message if isinstance(message, str) else None,
        fields=doc,
    )


def _parse_text(source: str, text: str, request_id: str | None) -> LogLine:
    match = _TEXT_RECORD.match(text)
    if match:
        rid = match["rid"] or request_id
        return LogLine(source, text, rid, match["level"], match["ts"], match["msg"])
    match = _TEXT_ERROR.match(text)
    if match:
        return LogLine(source, text, request_id, match["level"], None, match["msg"])
    return LogLine(source, text, request_id, message=text)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def json_record(line: LogLine, *, now: str) -> dict[str, Any]:
    """The Telemetry API object record of a line in JSON log format (schema 2022-12-13 and later)."""
    if line.fields is not None:
        record = dict(line.fields)
        if line.request_id and "requestId" not in record:
            record["requestId"] = line.request_id
        return record
    record = {"timestamp": line.timestamp or now, "level": line.level or "INFO", "message": line.text}
    if line.request_id:
        record["requestId"] = line.request_id
    return record


# --- CloudWatch-style platform lines -----------------------------------------------------------------------
def start_line(record: dict[str, Any]) -> str:
    """``START RequestId: <id> Version: <version>`` from a platform.start record."""
    return f"START RequestId: {record.get('requestId', '')} Version: {record.get('version') or '$LATEST'}"


def end_line(record: dict[str, Any]) -> str:
    """``END RequestId: <id>`` from a platform.runtimeDone or platform.report record."""
    return f"END RequestId: {record.get('requestId', '')}"


def report_line(record: dict[str, Any]) -> str:
    """The tab-separated ``REPORT RequestId: …`` line from a platform.report record."""
    metrics = record.get("metrics") or {}
    parts = [
        f"REPORT RequestId: {record.get('requestId', '')}",
        f"Duration: {float(metrics.get('durationMs', 0.0)):.2f} ms",
        f"Billed Duration: {int(metrics.get('billedDurationMs', 0))} ms",
        f"Memory Size: {int(metrics.get('memorySizeMB', 0))} MB",
        f"Max Memory Used: {int(metrics.get('maxMemoryUsedMB', 0))} MB",
    ]
    if metrics.get("initDurationMs") is not None:
        parts.append(f"Init Duration: {float(metrics['initDurationMs']):.2f} ms")
    status = record.get("status")
    if status and status != "success":
        parts.append(f"Status: {status}")
    if record.get("errorType"):
        parts.append(f"Error Type: {record['errorType']}")
    return "\t".join(parts)


def timeout_line(request_id: str, timeout_s: float, *, now: str | None = None) -> str:
    """The line CloudWatch shows for a timed-out invocation."""
    return f"{now or iso_now()} {request_id} Task timed out after {timeout_s:.2f} seconds"
