"""The `zerolag emulate` command, the RIE-compatible serve endpoint and the zerolag.testing fixture."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from zerolag.cli.emulate import emulate
from zerolag.emulator import Sandbox
from zerolag.emulator.serve import start_invoke_server
from zerolag.testing import lambda_sandbox  # noqa: F401 - the fixture under test

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "emulator"
REPO = Path(__file__).resolve().parents[2]


def test_cli_invokes_payloads_and_prints_results_and_report_lines() -> None:
    """Each --invoke payload gives one JSON result line; START/END/REPORT and function lines are printed."""
    result = CliRunner().invoke(
        emulate,
        [
            "--code",
            str(EXAMPLES / "hello"),
            "--handler",
            "app.handler",
            "--invoke",
            '{"a": 1}',
            "--invoke",
            "[2]",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [line["body"]["echo"] for line in lines] == [{"a": 1}, [2]]
    assert all(line["status"] == "success" for line in lines)
    err = result.stderr
    assert "hello from the handler" in err
    for rid in (line["requestId"] for line in lines):
        assert f"START RequestId: {rid} Version: $LATEST" in err
        assert f"END RequestId: {rid}" in err
        assert f"REPORT RequestId: {rid}\tDuration: " in err


def test_cli_exit_code_on_function_error() -> None:
    """A failing invocation makes the command exit 1."""
    result = CliRunner().invoke(emulate, ["--code", str(EXAMPLES / "scenarios"), "--handler", "app.boom"])
    assert result.exit_code == 1
    assert json.loads(result.stdout.splitlines()[-1])["errorType"] == "ValueError"


def test_cli_rejects_bad_env_and_payload() -> None:
    """--env without '=' and a non-JSON --invoke are usage errors."""
    code = str(EXAMPLES / "hello")
    bad_env = CliRunner().invoke(emulate, ["--code", code, "--handler", "app.handler", "--env", "NOPE"])
    assert bad_env.exit_code == 2
    bad_json = CliRunner().invoke(emulate, ["--code", code, "--handler", "app.handler", "--invoke", "{"])
    assert bad_json.exit_code == 2


def _post(
    port: int, body: bytes, path: str = "/2015-03-31/functions/function/invocations"
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", path, body=body)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_serve_endpoint_invokes_the_sandbox() -> None:
    """POST /2015-03-31/functions/function/invocations returns the function's response (RIE-compatible)."""
    with Sandbox(code=EXAMPLES / "scenarios", handler="app.ok") as sb:
        server = start_invoke_server(sb)
        try:
            port = server.server_address[1]
            status, _, body = _post(port, b'{"q": 1}')
            assert (status, json.loads(body)) == (200, {"ok": True, "event": {"q": 1}})
            assert _post(port, b"{}", "/elsewhere")[0] == 404
        finally:
            server.shutdown()
            server.server_close()


def test_serve_marks_function_errors() -> None:
    """A function error is 200 with X-Amz-Function-Error: Unhandled and the error body."""
    with Sandbox(code=EXAMPLES / "scenarios", handler="app.boom") as sb:
        server = start_invoke_server(sb)
        try:
            status, headers, body = _post(server.server_address[1], b"{}")
        finally:
            server.shutdown()
            server.server_close()
    assert status == 200
    assert headers.get("X-Amz-Function-Error") == "Unhandled"
    assert json.loads(body)["errorType"] == "ValueError"


def test_cli_serve_mode_until_sigterm() -> None:
    """`zerolag emulate --serve 0` serves until SIGTERM, then shuts the sandbox down cleanly."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zerolag.cli.main",
            "emulate",
            "--code",
            str(EXAMPLES / "hello"),
            "--handler",
            "app.handler",
            "--serve",
            "0",
        ],
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stderr is not None
        port = None
        for line in proc.stderr:
            if line.startswith("serving POST http://"):
                port = int(line.split(":")[2].split("/")[0])
                break
        assert port is not None
        status, _, body = _post(port, b'{"via": "serve"}')
        assert status == 200
        assert json.loads(body)["echo"] == {"via": "serve"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_testing_fixture_runs_a_handler(lambda_sandbox) -> None:  # noqa: F811
    """zerolag.testing.lambda_sandbox starts a sandbox for a user's handler and cleans it up."""
    sb = lambda_sandbox(code=EXAMPLES / "hello", handler="app.handler")
    result = sb.invoke({"user": "test"})
    assert result.status == "success"
    assert result.json()["echo"] == {"user": "test"}
