"""Runtimes without Python in the emulator: nodejs20.x runs a Node.js handler through the Node.js runtime
client, provided.al2023 runs a bootstrap; in both sandboxes no host Python can be found or run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from zerolag.emulator import Sandbox

pytestmark = pytest.mark.e2e

HANDLER = """
const fs = require('fs');
function executable(p) {
  try { fs.accessSync(p, fs.constants.X_OK); return true; } catch (e) { return false; }
}
exports.handler = async (event, context) => {
  console.log('line one\\nline two');
  if (event.fail) throw new TypeError('bad input');
  if (event.exit) process.exit(7);
  const pythons = ['/usr/bin/python3', '/usr/local/bin/python3', '/bin/python3', '/var/lang/bin/python3']
    .filter(executable);
  const pylibs = fs.readdirSync('/usr/lib').filter((n) => n.startsWith('python3'))
    .filter((n) => fs.readdirSync('/usr/lib/' + n).length > 0);
  return { echo: event, requestId: context.awsRequestId, fn: context.functionName,
           left: context.getRemainingTimeInMillis(), env: process.env.AWS_EXECUTION_ENV, pythons, pylibs };
};
exports.callback = (event, context, callback) => { setTimeout(() => callback(null, { cb: event.n }), 1); };
"""


@pytest.fixture
def node_code(tmp_path: Path) -> Path:
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    code = tmp_path / "code"
    code.mkdir()
    (code / "index.js").write_text(HANDLER, encoding="utf-8")
    return code


def test_nodejs_handler_context_errors_and_crash(node_code: Path) -> None:
    with Sandbox(code=node_code, handler="index.handler", runtime="nodejs20.x", function_name="nodefn") as sb:
        assert sb.layout.python_hidden
        if sb.layout.namespaced:  # as root: inside the isolated sandbox (minimal root, PID namespace)
            assert sb.layout.pid_namespace
        ok = sb.invoke({"a": 1})
        failed = sb.invoke({"fail": True})
        crashed = sb.invoke({"exit": True})
        again = sb.invoke({"a": 2})
        logs = [line.text for line in sb.logs if line.source == "function"]
    body = ok.json()
    assert ok.status == "success"
    assert body["echo"] == {"a": 1}
    assert body["requestId"] == ok.request_id
    assert body["fn"] == "nodefn"
    assert 0 < body["left"] <= 3000
    assert body["env"] == "AWS_Lambda_nodejs20.x"
    assert body["pythons"] == []  # the host's python3 is masked, /var/lang has none
    assert body["pylibs"] == []  # the host's Python library dirs are empty
    assert failed.status == "error"
    assert failed.error_type == "TypeError"
    assert json.loads(failed.body)["errorMessage"] == "bad input"
    assert crashed.status in ("error", "failure")
    assert crashed.error_type == "Runtime.ExitError"
    assert again.status == "success"
    assert any("line one\rline two" in line and ok.request_id in line for line in logs)


def test_nodejs_callback_handler_and_missing_handler(node_code: Path) -> None:
    with Sandbox(code=node_code, handler="index.callback", runtime="nodejs20.x") as sb:
        assert sb.invoke({"n": 5}).json() == {"cb": 5}
    with Sandbox(code=node_code, handler="index.nope", runtime="nodejs20.x") as sb:
        result = sb.invoke({})
    assert result.status in ("error", "failure")
    assert "Runtime.HandlerNotFound" in (result.error_type or "") + result.body.decode()


def test_provided_al2023_runs_the_bootstrap_without_python(tmp_path: Path) -> None:
    """A bootstrap that reports whether python3 can be run, answering one invocation over the Runtime API."""
    code = tmp_path / "code"
    code.mkdir()
    bootstrap = code / "bootstrap"
    bootstrap.write_text(
        """#!/bin/bash
if python3 -c pass 2>/dev/null; then py=yes; else py=no; fi
api=$AWS_LAMBDA_RUNTIME_API
exec 3<>"/dev/tcp/${api%:*}/${api##*:}"
printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3
while IFS= read -r line <&3; do
  line=${line%$'\\r'}
  case "${line,,}" in lambda-runtime-aws-request-id:*) id=${line#*: } ;; esac
  [ -z "$line" ] && break
done
exec 3<&-
body="{\\"python\\":\\"$py\\"}"
exec 3<>"/dev/tcp/${api%:*}/${api##*:}"
printf 'POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\\r\\nHost: x\\r\\n' "$id" >&3
printf 'Content-Length: %s\\r\\n\\r\\n%s' "${#body}" "$body" >&3
read -r _ <&3
exec 3<&-
exec 3<>"/dev/tcp/${api%:*}/${api##*:}"
printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3
read -r _ <&3
""",
        encoding="utf-8",
    )
    bootstrap.chmod(0o755)
    with Sandbox(code=code, handler="unused", runtime="provided.al2023") as sb:
        result = sb.invoke({})
        hidden = sb.layout.python_hidden
    assert hidden
    assert result.status == "success", result.body
    assert result.json() == {"python": "no"}


def test_an_unknown_runtime_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown runtime"):
        Sandbox(code=tmp_path, handler="x.y", runtime="ruby3.3").start()
