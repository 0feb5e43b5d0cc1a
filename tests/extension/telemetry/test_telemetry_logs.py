"""Function log lines: awslambdaric text format, JSON format, EMF detection."""

from __future__ import annotations

import pytest

from zerolag.extension.telemetry.logs import parse_log_record

RID = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
JSON_ERROR = '{"level": "ERROR", "requestId": "' + RID + '", "errorMessage": "bad", "errorType": "E"}'


@pytest.mark.parametrize(
    ("record", "body", "level", "rid"),
    [
        ("plain print\n", "plain print", "", None),
        (f"[INFO]\t2026-01-01T00:00:00.000Z\t{RID}\thello\n", "hello", "INFO", RID),
        ("[WARNING]\t2026-01-01T00:00:00.000Z\t\tLAMBDA_WARNING: x\n", "LAMBDA_WARNING: x", "WARNING", None),
        ("[ERROR] ValueError: boom\rTraceback (most recent call last):\r  File x", None, "ERROR", None),
        (JSON_ERROR, "bad", "ERROR", RID),
        ({"timestamp": "t", "level": "DEBUG", "message": "m", "requestId": RID}, "m", "DEBUG", RID),
    ],
)
def test_lines_keep_body_severity_and_request_id(
    record: object, body: str | None, level: str, rid: str | None
) -> None:
    """Each format yields the message, the level and the request id it carries."""
    line = parse_log_record(record)
    if body is not None:
        assert line.body == body
    assert line.severity_text == level
    assert line.request_id == rid
    assert line.emf is None


def test_error_lines_joined_with_carriage_returns_become_multiline() -> None:
    """awslambdaric's \\r-joined traceback becomes a newline-joined body."""
    line = parse_log_record("[ERROR] ValueError: boom\rTraceback (most recent call last):\r  File x")
    assert line.body == "ValueError: boom\nTraceback (most recent call last):\n  File x"
    assert line.severity_number == 17


def test_emf_is_recognised_as_a_string_an_object_or_a_json_message() -> None:
    """An EMF document is flagged whether it comes as a line, an object, or inside a JSON log message."""
    doc = '{"_aws": {"Timestamp": 1, "CloudWatchMetrics": []}, "x": 1}'
    assert parse_log_record(doc + "\n").emf is not None
    assert parse_log_record({"_aws": {"CloudWatchMetrics": []}}).emf is not None
    assert parse_log_record({"level": "INFO", "message": doc}).emf is not None
    assert parse_log_record('{"_aws": {"nope": 1}}').emf is None


@pytest.mark.parametrize(
    ("record", "error"),
    [
        (
            "[ERROR] ValueError: the order id is missing\rTraceback (most recent call last):",
            ("ValueError", "the order id is missing"),
        ),
        (
            "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'x'\rTrace",
            ("Runtime.ImportModuleError", "Unable to import module 'app': No module named 'x'"),
        ),
        ("[ERROR] KeyError\rTraceback", ("KeyError", "")),
        (
            {"level": "ERROR", "errorType": "ValueError", "errorMessage": "bad", "stackTrace": []},
            ("ValueError", "bad"),
        ),
        ("[ERROR]\t2024-01-01T00:00:00.000Z\t\tsomething: logged by the user", None),
        ({"level": "ERROR", "message": "logged", "errorType": "X"}, None),
        ("plain print: not an error", None),
    ],
)
def test_the_runtimes_error_record_is_recognised(record: object, error: tuple[str, str] | None) -> None:
    """awslambdaric prints "[ERROR] Type: message" (text) or errorType/errorMessage (JSON) for a failure."""
    assert parse_log_record(record).error == error
