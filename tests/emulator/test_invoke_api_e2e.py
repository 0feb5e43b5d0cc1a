"""The invoke endpoint as boto3 sees Lambda (docs/emulator.md, "The invoke endpoint"): boto3's lambda client
against ``zerolag emulate --serve``, in a separate process, as a user would run it."""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from gate import Gate

from zerolag.emulator.layout import namespaces_available

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "emulator"
SCENARIOS = EXAMPLES / "scenarios"
RECORDER = EXAMPLES / "recorder-layer"


class Served:
    """A running ``zerolag emulate --serve 0`` and a boto3 Lambda client pointed at it."""

    def __init__(self, *args: str) -> None:
        argv = [sys.executable, "-m", "zerolag.cli.main", "emulate", "--function-name", "fn", *args]
        self.proc = subprocess.Popen(
            [*argv, "--serve", "0"],
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self._cond = threading.Condition()
        assert self.proc.stderr is not None
        port = None
        for line in self.proc.stderr:
            self.lines.append(line)
            if line.startswith("serving POST http://"):
                port = int(line.split(":")[2].split("/")[0])
                break
        assert port is not None, "".join(self.lines)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.client = boto3.client(
            "lambda",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"total_max_attempts": 1}, read_timeout=60, max_pool_connections=16),
        )

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()

    def wait_for_report(self, request_id: str, timeout: float = 60.0) -> None:
        """Block until the invocation's REPORT line was printed: it has ended, its sandbox is idle again."""
        prefix = f"REPORT RequestId: {request_id}"
        with self._cond:
            if not self._cond.wait_for(lambda: any(ln.startswith(prefix) for ln in self.lines), timeout):
                raise TimeoutError(f"no REPORT line for {request_id}")

    def invoke(self, payload: Any = None, **kwargs: Any) -> dict[str, Any]:
        body = payload if isinstance(payload, bytes) else json.dumps(payload if payload is not None else {})
        resp: dict[str, Any] = self.client.invoke(FunctionName="fn", Payload=body, **kwargs)
        resp["Body"] = resp.pop("Payload").read()
        return resp

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    s = Served("--code", str(SCENARIOS), "--handler", "app.token")
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def failing() -> Iterator[Served]:
    s = Served("--code", str(SCENARIOS), "--handler", "app.boom")
    try:
        yield s
    finally:
        s.stop()


def test_request_response(served: Served) -> None:
    """A plain boto3 invoke: 200, the function's result, $LATEST, and the invocation's request id."""
    resp = served.invoke({"q": 1})
    assert resp["StatusCode"] == 200
    assert resp["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in resp
    body = json.loads(resp["Body"])
    assert body["request_id"] == resp["ResponseMetadata"]["RequestId"]


def test_function_error_is_unhandled(failing: Served) -> None:
    """A handler exception: 200 with FunctionError Unhandled and the error document."""
    resp = failing.invoke({})
    assert (resp["StatusCode"], resp["FunctionError"]) == (200, "Unhandled")
    assert json.loads(resp["Body"])["errorType"] == "ValueError"


def test_log_type_tail(failing: Served) -> None:
    """LogType=Tail: LogResult is base64 of the invocation's log, START to REPORT."""
    resp = failing.invoke({}, LogType="Tail")
    log = base64.b64decode(resp["LogResult"]).decode()
    rid = resp["ResponseMetadata"]["RequestId"]
    assert log.startswith(f"START RequestId: {rid}")
    assert "[ERROR] ValueError: boom" in log
    assert f"REPORT RequestId: {rid}\tDuration: " in log
    assert len(base64.b64decode(resp["LogResult"])) <= 4096


def test_dry_run(served: Served) -> None:
    """DryRun: 204, nothing runs."""
    resp = served.invoke({}, InvocationType="DryRun")
    assert resp["StatusCode"] == 204
    assert resp["Body"] == b""


def test_named_errors(served: Served) -> None:
    """Errors carry x-amzn-ErrorType, so boto3 raises the named exceptions."""
    client = served.client
    with pytest.raises(client.exceptions.RequestTooLargeException):
        served.invoke(b'"' + b"x" * (6 * 1024 * 1024) + b'"')
    with pytest.raises(client.exceptions.RequestTooLargeException):
        served.invoke(b'"' + b"x" * (1024 * 1024) + b'"', InvocationType="Event")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="other", Payload=b"{}")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="fn", Qualifier="7", Payload=b"{}")
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        served.invoke(b"{not json")
    # the service is fine afterwards, by name, ARN and the RIE's name
    arn = "arn:aws:lambda:us-east-1:123456789012:function:fn"
    for name in ("fn", arn, "function"):
        assert client.invoke(FunctionName=name, Payload=b"{}")["StatusCode"] == 200


def test_event_invocations_are_accepted_at_once_and_run_in_order() -> None:
    """InvocationType=Event: 202 with an empty body before the function even ran; queued events run one
    after another in the order they were accepted."""
    with Gate() as gate:
        s = Served("--code", str(SCENARIOS), "--handler", "app.gate")
        try:
            resp = s.invoke({"gate": gate.address, "note": 0}, InvocationType="Event")
            assert (resp["StatusCode"], resp["Body"]) == (202, b"")
            # the first event is running and held: the caller did not wait for it; it kept its request id
            assert gate.wait_for(1)[0].split()[2] == resp["ResponseMetadata"]["RequestId"]
            for n in range(1, 5):
                assert (
                    s.invoke({"gate": gate.address, "note": n}, InvocationType="Event")["StatusCode"] == 202
                )
            gate.open()
            labels = gate.wait_seen(5)
        finally:
            s.stop()
    assert [label.split()[1] for label in labels] == ["0", "1", "2", "3", "4"]


def test_response_at_response_time_through_serve() -> None:
    """The caller gets the response while the extension is still working on the invocation (its post-runtime
    phase); the next request is served once that phase is over."""
    with Gate() as gate:
        s = Served(
            "--code", str(SCENARIOS), "--handler", "app.token", "--layer", str(RECORDER),
            "--env", f"RECORDER_POST_GATE={gate.address}",
        )  # fmt: skip
        try:
            first = s.invoke({})
            rid = first["ResponseMetadata"]["RequestId"]
            assert gate.wait_for(1) == [rid]  # the extension holds the invocation open; we have the response
            second: list[dict[str, Any]] = []
            worker = threading.Thread(target=lambda: second.append(s.invoke({})))
            worker.start()
            gate.open()
            worker.join(60)
            assert second[0]["StatusCode"] == 200
            s.wait_for_report(rid)
        finally:
            s.stop()


def test_concurrency_scales_then_throttles() -> None:
    """--concurrency 2: two requests at once run in two sandboxes (a cold start for the second); a third
    while both are busy gets 429 TooManyRequestsException; afterwards a request reuses a warm sandbox."""
    with Gate() as gate:
        s = Served("--code", str(SCENARIOS), "--handler", "app.gate", "--concurrency", "2")
        try:
            results: list[dict[str, Any]] = []
            threads = [
                threading.Thread(target=lambda: results.append(s.invoke({"gate": gate.address})))
                for _ in range(2)
            ]
            for t in threads:
                t.start()
            tokens = {label.split()[0] for label in gate.wait_for(2)}
            assert len(tokens) == 2  # two sandboxes
            with pytest.raises(s.client.exceptions.TooManyRequestsException) as exc:
                s.invoke({"gate": gate.address})
            assert exc.value.response["Error"]["Code"] == "TooManyRequestsException"
            assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
            gate.open()
            for t in threads:
                t.join(60)
            assert sorted(json.loads(r["Body"])["token"] for r in results) == sorted(tokens)
            for r in results:  # a sandbox is busy until its invocation ended, not only until the response
                s.wait_for_report(r["ResponseMetadata"]["RequestId"])
            again = json.loads(s.invoke({"gate": gate.address})["Body"])["token"]
            assert again in tokens  # warm: no third sandbox
            assert sum(line.startswith("INIT_START") for line in s.lines) == 2
        finally:
            s.stop()


@pytest.mark.skipif(not namespaces_available(), reason="needs root and unshare: no isolation without")
def test_concurrency_sandboxes_get_every_option() -> None:
    """--serve --concurrency N makes every sandbox with the same options: the one cold-started on demand
    has the --ephemeral-storage /tmp and the --runtime interpreter too, and runs as the sandbox user."""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    with Gate() as gate:
        s = Served(
            "--code", str(SCENARIOS), "--handler", "app.gate", "--concurrency", "2",
            "--ephemeral-storage", "600", "--runtime", f"python{version}",
        )  # fmt: skip
        try:
            results: list[dict[str, Any]] = []
            threads = [
                threading.Thread(target=lambda: results.append(s.invoke({"gate": gate.address})))
                for _ in range(2)
            ]
            for t in threads:
                t.start()
            assert len({label.split()[0] for label in gate.wait_for(2)}) == 2  # two sandboxes
            gate.open()
            for t in threads:
                t.join(60)
        finally:
            s.stop()
    seen = [json.loads(r["Body"]) for r in results]
    assert len(seen) == 2
    for facts in seen:
        assert 560 <= facts["tmp_mib"] <= 600, facts  # the file system's own overhead comes off 600 MiB
        assert (facts["uid"], facts["python"]) == (993, version), facts


def _raw(port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def test_bad_requests_get_a_4xx_and_the_endpoint_keeps_serving(served: Served) -> None:
    """Malformed requests get a clear 4xx with an error type, never a 500 or a dropped service."""
    port = int(served.client.meta.endpoint_url.rsplit(":", 1)[1])
    path = "/2015-03-31/functions/fn/invocations"
    cases = [
        ("GET", path, b"", {}),
        ("POST", "/2015-03-31/functions/fn/elsewhere", b"{}", {}),
        ("POST", "/2015-03-31/functions/../../etc/invocations", b"{}", {}),
        ("POST", path, b"{}", {"X-Amz-Invocation-Type": "Sometimes"}),
        ("POST", path, b"{}", {"X-Amz-Log-Type": "Everything"}),
        ("POST", path, b"{}", {"X-Amz-Client-Context": "%%% not base64"}),
        ("POST", path, b"{}", {"X-Amz-Client-Context": base64.b64encode(b"[1]").decode()}),
        ("POST", path, b"{}", {"X-Amz-Client-Context": "A" * 4000}),
        ("POST", path, b"\xff\xfe", {}),
        ("POST", path, b"{}", {"Content-Length": "-5"}),
    ]
    for method, p, body, headers in cases:
        status = _raw(port, method, p, body, headers)
        assert 400 <= status < 500, (method, p, headers, status)
    assert served.invoke({})["StatusCode"] == 200
