"""Function log lines (Telemetry API ``function``/``extension`` records) parsed into severity, body and ids.

Handles the text format of awslambdaric (``[LEVEL]\\t<timestamp>\\t<requestId>\\t<message>``, plain ``print``
lines) and the JSON format (``{"timestamp","level","requestId","message",…}``, delivered as an object with
schema ≥ 2022-12-13 or as a JSON string line otherwise). Pure functions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Final

SEVERITY: Final[dict[str, int]] = {
    "TRACE": 1,
    "DEBUG": 5,
    "INFO": 9,
    "NOTICE": 10,
    "WARN": 13,
    "WARNING": 13,
    "ERROR": 17,
    "CRITICAL": 21,
    "FATAL": 21,
}
_LEVELS = "TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL"
_TEXT_PREFIX = re.compile(rf"\[({_LEVELS})\]\s?(.*)", re.DOTALL)
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
_REQUEST_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# The error record awslambdaric prints for an init or handler failure: "[ERROR] <Type>: <message>\r<trace>"
# (no tab-separated timestamp, unlike a logged line). The JSON log format prints errorType/errorMessage.
_RUNTIME_ERROR = re.compile(r"([A-Za-z_][\w.]*)(?:: (.*))?$")
_JSON_MESSAGE_KEYS: Final = ("timestamp", "level", "requestId", "message", "logger")
_ERROR_KEYS: Final = {
    "errorType": "exception.type",
    "errorMessage": "exception.message",
    "stackTrace": "exception.stacktrace",
}


@dataclass
class LogLine:
    """One parsed function log line."""

    body: object
    severity_text: str = ""
    request_id: str | None = None
    attrs: dict[str, object] = field(default_factory=dict)
    emf: dict[str, Any] | None = None  # the document when the line is CloudWatch Embedded Metric Format
    error: tuple[str, str] | None = None  # (type, message) when the line is the runtime's error record

    @property
    def severity_number(self) -> int:
        return SEVERITY.get(self.severity_text.upper(), 0)

    @property
    def text(self) -> str:
        """The line as text (for the "last log lines" of an error span)."""
        return self.body if isinstance(self.body, str) else json.dumps(self.body, default=str)


def parse_log_record(record: object) -> LogLine:
    """Parse one ``function``/``extension`` record (a string, or an object in JSON log format)."""
    if isinstance(record, dict):
        return _from_object(record)
    text = record if isinstance(record, str) else json.dumps(record, default=str)
    text = text.rstrip("\n")
    if text.startswith("{") and text.endswith("}"):
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            return _from_object(obj)
    return _from_text(text)


def is_emf(obj: object) -> bool:
    """True for a CloudWatch Embedded Metric Format document."""
    if not isinstance(obj, dict):
        return False
    aws = obj.get("_aws")
    return isinstance(aws, dict) and isinstance(aws.get("CloudWatchMetrics"), list)


def _from_object(obj: dict[str, Any]) -> LogLine:
    if is_emf(obj):
        return LogLine(body=obj, emf=obj)
    message = obj.get("message")
    if isinstance(message, str) and message.startswith("{"):
        try:
            inner = json.loads(message)
        except ValueError:
            inner = None
        if is_emf(inner):
            return LogLine(body=inner, emf=inner)
    level = obj.get("level")
    request_id = obj.get("requestId")
    attrs: dict[str, object] = {}
    for key, value in obj.items():
        if key in _JSON_MESSAGE_KEYS:
            continue
        attrs[_attr_name(key)] = value if isinstance(value, (str, int, float, bool)) else json.dumps(value)
    if isinstance(obj.get("logger"), str):
        attrs["code.namespace"] = obj["logger"]
    body: object = message if message is not None else obj
    if "errorMessage" in obj and message is None:
        body = obj["errorMessage"]
    error_type, error_message = obj.get("errorType"), obj.get("errorMessage")
    error = None
    if isinstance(error_type, str) and error_type and message is None:
        error = (error_type, error_message if isinstance(error_message, str) else "")
    return LogLine(
        body=body,
        severity_text=level.upper() if isinstance(level, str) else "",
        request_id=request_id if isinstance(request_id, str) and request_id else None,
        attrs=attrs,
        error=error,
    )


def _attr_name(key: str) -> str:
    return _ERROR_KEYS.get(key, key)


def _from_text(text: str) -> LogLine:
    match = _TEXT_PREFIX.match(text)
    if match is None:
        return LogLine(body=text)
    level, rest = match.group(1), match.group(2).replace("\r", "\n")  # awslambdaric joins lines with \r
    parts = rest.split("\t", 2)
    if len(parts) == 3 and _TIMESTAMP.match(parts[0]) and (not parts[1] or _REQUEST_ID.fullmatch(parts[1])):
        return LogLine(body=parts[2], severity_text=level, request_id=parts[1] or None)
    error = None
    if level == "ERROR":
        printed = _RUNTIME_ERROR.match(rest.split("\n", 1)[0])
        if printed is not None:
            error = (printed.group(1), printed.group(2) or "")
    return LogLine(body=rest if rest else text, severity_text=level, error=error)
