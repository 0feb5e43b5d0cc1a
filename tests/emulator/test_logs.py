"""Captured log lines (awslambdaric text and JSON formats, contract section 6) and CloudWatch-style lines."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from awslambdaric.lambda_runtime_log_utils import JsonFormatter

from zerolag.emulator.logs import (
    end_line,
    iso_time,
    json_record,
    parse_line,
    report_line,
    start_line,
    timeout_line,
)

RID = "8f5c6c2e-1b43-4c53-a4f9-0d1c2b9d4e11"
# The text format string awslambdaric 4.2.2 installs on the root logger (bootstrap._setup_logging).
RIC_TEXT_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"


def ric_record(message: str, level: int = logging.WARNING) -> logging.LogRecord:
    record = logging.LogRecord("root", level, __file__, 1, message, None, None)
    record.aws_request_id = RID
    return record


def test_awslambdaric_text_logging_line_is_parsed() -> None:
    """A line made by awslambdaric's own text format yields level, timestamp, request id and message."""
    formatter = logging.Formatter(RIC_TEXT_FORMAT, "%Y-%m-%dT%H:%M:%S")
    line = formatter.format(ric_record("disk almost full"))
    parsed = parse_line("function", line, log_format="Text", request_id="other")
    assert (parsed.level, parsed.request_id, parsed.message) == ("WARNING", RID, "disk almost full")
    assert parsed.timestamp is not None
    assert parsed.timestamp.endswith("Z")
    assert parsed.text == line.rstrip("\n")


def test_text_line_without_request_id_uses_the_current_invocation() -> None:
    """A logging line written outside a request (empty id field) takes the invocation's id when known."""
    parsed = parse_line(
        "function", "[INFO]\t2024-01-01T00:00:00.000Z\t\tinit done", log_format="Text", request_id="r9"
    )
    assert (parsed.request_id, parsed.message) == ("r9", "init done")


def test_uncaught_error_record_keeps_its_carriage_returns() -> None:
    """``[ERROR] Type: msg\\rTraceback…`` stays one record; display shows its lines separately."""
    line = '[ERROR] ValueError: boom\rTraceback (most recent call last):\r\u00a0\u00a0File "/var/task/app.py"'
    parsed = parse_line("function", line + "\n", log_format="Text", request_id=RID)
    assert parsed.level == "ERROR"
    assert parsed.message is not None
    assert parsed.message.startswith("ValueError: boom\r")
    assert parsed.request_id == RID
    assert parsed.display.splitlines()[0] == "[ERROR] ValueError: boom"
    assert len(parsed.display.splitlines()) == 3


def test_print_output_is_kept_as_is() -> None:
    """A plain print line has no level and is attributed to the running invocation."""
    parsed = parse_line("function", "hello world\n", log_format="Text", request_id=RID)
    assert (parsed.text, parsed.level, parsed.request_id, parsed.message) == (
        "hello world",
        None,
        RID,
        "hello world",
    )


def test_awslambdaric_json_line_is_parsed_into_an_object() -> None:
    """A line made by awslambdaric's JsonFormatter is parsed into its object, keeping its request id."""
    record = ric_record("json hello", logging.INFO)
    line = JsonFormatter().format(record)
    parsed = parse_line("function", line, log_format="JSON", request_id="other")
    assert parsed.fields is not None
    assert parsed.fields["message"] == "json hello"
    assert (parsed.level, parsed.request_id) == ("INFO", RID)
    assert json_record(parsed, now="x") == json.loads(line)


def test_json_error_line_uses_error_message() -> None:
    """A JSON error record (errorMessage, errorType, stackTrace) gives its errorMessage as the message."""
    line = json.dumps({"timestamp": "t", "level": "ERROR", "errorMessage": "boom", "errorType": "ValueError"})
    parsed = parse_line("function", line, log_format="JSON", request_id=RID)
    assert (parsed.message, parsed.level, parsed.request_id) == ("boom", "ERROR", RID)
    assert json_record(parsed, now="x")["requestId"] == RID


def test_non_json_line_in_json_format_becomes_an_object() -> None:
    """In JSON format a plain print line still yields an object {timestamp, level, requestId, message}."""
    parsed = parse_line("function", "plain", log_format="JSON", request_id=RID)
    assert parsed.fields is None
    assert json_record(parsed, now="2024-01-01T00:00:00.000Z") == {
        "timestamp": "2024-01-01T00:00:00.000Z",
        "level": "INFO",
        "message": "plain",
        "requestId": RID,
    }
    assert parse_line("function", "[1, 2]", log_format="JSON", request_id=None).fields is None
    assert parse_line("function", "{bad", log_format="JSON", request_id=None).fields is None


def test_json_line_in_text_format_is_not_parsed() -> None:
    """In Text format a JSON-looking line is just text."""
    assert parse_line("function", '{"a": 1}', log_format="Text", request_id=None).fields is None


def test_iso_time_has_milliseconds_and_z() -> None:
    """Telemetry times are UTC ISO-8601 with exactly three fractional digits and a Z."""
    moment = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
    assert iso_time(moment) == "2024-05-06T07:08:09.123Z"


def test_start_and_end_lines() -> None:
    """START carries the version ($LATEST by default); END carries the request id."""
    assert start_line({"requestId": RID}) == f"START RequestId: {RID} Version: $LATEST"
    assert start_line({"requestId": RID, "version": "3"}) == f"START RequestId: {RID} Version: 3"
    assert end_line({"requestId": RID}) == f"END RequestId: {RID}"


def test_report_line_cold_start() -> None:
    """REPORT lists duration, billed duration, memory size, max memory used and (cold start) init duration."""
    metrics = {
        "durationMs": 1.234,
        "billedDurationMs": 2,
        "memorySizeMB": 128,
        "maxMemoryUsedMB": 40,
        "initDurationMs": 100.0,
    }
    assert report_line({"requestId": RID, "status": "success", "metrics": metrics}) == (
        f"REPORT RequestId: {RID}\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB"
        "\tMax Memory Used: 40 MB\tInit Duration: 100.00 ms"
    )


def test_report_line_warm_timeout() -> None:
    """A warm timed-out invocation has no Init Duration and ends with its status and error type."""
    metrics = {"durationMs": 3000.0, "billedDurationMs": 3000, "memorySizeMB": 128, "maxMemoryUsedMB": 41}
    line = report_line(
        {"requestId": RID, "status": "timeout", "errorType": "Sandbox.Timedout", "metrics": metrics}
    )
    assert "Init Duration" not in line
    assert line.endswith("\tStatus: timeout\tError Type: Sandbox.Timedout")


def test_timeout_line() -> None:
    """The timeout line says how long the function was allowed to run."""
    assert timeout_line(RID, 3, now="T") == f"T {RID} Task timed out after 3.00 seconds"
