"""``zerolag collector serve`` as a real process: it prints where it listens, ingests, stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from collector_client import Client
from collector_payloads import invocation_trace

from zerolag.otlp import protobuf


def test_serve_prints_its_url_ingests_and_stops_on_sigint(tmp_path: Path) -> None:
    """The command binds the port it prints, stores what it receives into --db, and exits cleanly on SIGINT;
    the key comes from the environment and never appears in its output."""
    db = tmp_path / "cli.db"
    env = {**os.environ, "ZEROLAG_COLLECTOR_INGEST_KEYS": "cli-secret-key"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-u",
            "-m",
            "zerolag.cli.main",
            "collector",
            "serve",
            "--port",
            "0",
            "--db",
            str(db),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("zerolag collector on http://127.0.0.1:")
        port = int(first.split("http://127.0.0.1:")[1].split()[0])
        client = Client.__new__(Client)
        client.host, client.port = "127.0.0.1", port
        body = protobuf.encode("traces", invocation_trace("fn", "cli-req"))
        headers = {"Content-Type": "application/x-protobuf", "X-Api-Key": "cli-secret-key"}
        assert client.request("POST", "/v1/traces", body, headers)[0] == 200
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "cli-secret-key" not in first + output
    import sqlite3

    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT request_id FROM invocations").fetchall() == [("cli-req",)]
    finally:
        con.close()


def test_serve_without_an_ingest_key_fails_fast(tmp_path: Path) -> None:
    """With no ingest key configured the command refuses to start, naming the option."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZEROLAG_COLLECTOR_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "zerolag.cli.main",
            "collector",
            "serve",
            "--port",
            "0",
            "--db",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--ingest-key" in result.stderr
