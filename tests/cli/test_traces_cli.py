"""``zerolag traces list`` / ``show``: readable tables from the SQLite file or from a running collector."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The collector tests' client and payload builders (test dirs are not packages here).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "collector"))
from click.testing import CliRunner
from collector_client import READ_KEY, Client, make_config
from collector_payloads import MS, T0, function_logs, invocation_trace, platform_metrics

from zerolag.cli.main import cli
from zerolag.collector import Collector


@pytest.fixture
def running(tmp_path: Path):
    """A collector holding a cold ok invocation of ``api`` and a timed-out one of ``slow``."""
    with Collector(make_config(tmp_path)) as collector:
        client = Client(collector)
        sends = [
            ("traces", invocation_trace("api", "req-ok", start_ns=T0, cold_start=True)),
            ("metrics", platform_metrics("api", "req-ok", billed_ms=121, init_ms=180)),
            ("logs", function_logs("api", "req-ok", ["handling order 42"])),
            (
                "traces",
                invocation_trace(
                    "slow",
                    "req-late",
                    start_ns=T0 + 5000 * MS,
                    status="timeout",
                    error_type="Sandbox.Timedout",
                ),
            ),
        ]
        for signal, request in sends:
            assert client.export(signal, request)[0] == 200
        yield collector


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_list_from_the_database_file(running: Collector) -> None:
    """``traces list --db`` prints a header and one row per invocation, newest first, with the status."""
    out = run("traces", "--db", str(running.config.db_path), "list")
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["START", "(UTC)", "FUNCTION"]
    assert "req-late" in lines[2]
    assert "TIMEOUT (Sandbox.Timedout)" in lines[2]
    assert "req-ok" in lines[3]
    assert "121.0 ms" in lines[3]
    assert "cold" in lines[3]


def test_list_filters(running: Collector) -> None:
    """``--function``, ``--status`` and ``--cold/--warm`` narrow the table."""
    db = str(running.config.db_path)
    assert "req-late" not in run("traces", "--db", db, "list", "--function", "api")
    assert "req-ok" not in run("traces", "--db", db, "list", "--status", "timeout")
    assert "req-late" not in run("traces", "--db", db, "list", "--cold")
    assert run("traces", "--db", db, "list", "--function", "nobody").strip() == "no invocations match"


def test_list_through_the_api(running: Collector) -> None:
    """With ``--url`` and a read key the CLI reads the collector's JSON API instead of the file."""
    out = run("traces", "--url", running.url, "--key", READ_KEY, "list", "--status", "ok")
    assert "req-ok" in out
    assert "req-late" not in out


def test_list_through_the_api_needs_a_key(running: Collector) -> None:
    """A wrong key gives a clear error, not a traceback."""
    result = CliRunner().invoke(cli, ["traces", "--url", running.url, "--key", "bad", "list"])
    assert result.exit_code == 1
    assert "answered 401" in result.output


def test_show_prints_summary_waterfall_logs_and_metrics(running: Collector) -> None:
    """``traces show ID`` prints the invocation's facts, span tree with bars, its logs and metrics."""
    out = run("traces", "--db", str(running.config.db_path), "show", "req-ok")
    assert "Billed       121.0 ms" in out
    assert "cold (init 180.0 ms)" in out
    assert "DynamoDB.GetItem #0" in out
    assert "|#" in out
    assert "handling order 42" in out
    assert "aws.lambda.billed_duration" in out


def test_show_marks_failures_via_the_api(running: Collector) -> None:
    """A timed-out invocation shows its status and a ``!`` on the failed span."""
    out = run("traces", "--url", running.url, "--key", READ_KEY, "show", "req-late")
    assert "TIMEOUT (Sandbox.Timedout)" in out
    assert "! slow" in out


def test_show_unknown_id_fails_clearly(running: Collector) -> None:
    """An unknown id is an error naming it, from the file and from the API."""
    for source in (["--db", str(running.config.db_path)], ["--url", running.url, "--key", READ_KEY]):
        result = CliRunner().invoke(cli, ["traces", *source, "show", "nope"])
        assert result.exit_code == 1
        assert "no invocation nope" in result.output


def test_missing_database_fails_clearly(tmp_path: Path) -> None:
    """Pointing at a file that does not exist says so."""
    result = CliRunner().invoke(cli, ["traces", "--db", str(tmp_path / "none.db"), "list"])
    assert result.exit_code == 1
    assert "no collector database" in result.output


def test_log_bodies_are_one_line_in_the_table() -> None:
    """A traceback joined with CR (Lambda's text format) shows as its first line and a marker; long lines
    are cut, so the table stays readable."""
    from zerolag.cli.traces_render import one_line

    assert one_line("KeyError: 'id'\rTraceback (most recent call last):\r  File x") == "KeyError: 'id' …"
    assert one_line("plain") == "plain"
    cut = one_line("x" * 500, width=50)
    assert len(cut) == 50
    assert cut.endswith(" …")


def test_stored_control_characters_never_reach_the_terminal(tmp_path: Path) -> None:
    """Span names, function names and log lines may carry terminal escape sequences (an OSC that retitles
    the window, a bidi override): ``traces`` prints them escaped, never raw."""
    hostile = "evil\x1b]0;pwned\x07\x1b[2J\u202e\x9b"
    with Collector(make_config(tmp_path)) as collector:
        client = Client(collector)
        trace = invocation_trace(hostile, "req-esc")
        trace["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["name"] = hostile
        assert client.export("traces", trace)[0] == 200
        assert client.export("logs", function_logs(hostile, "req-esc", [f"line {hostile}"]))[0] == 200
        db = str(collector.config.db_path)
        outputs = [run("traces", "--db", db, "list"), run("traces", "--db", db, "show", "req-esc")]
    for out in outputs:
        assert not any(ch in out for ch in "\x1b\x07\x9b\u202e"), repr(out)
        assert "evil\\x1b]0;pwned\\x07\\x1b[2J\\u202e\\x9b" in out
