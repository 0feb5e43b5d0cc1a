"""Runs agent code in a fresh Python process (the agent patches logging, stdout and imports process-wide)
with the stdout exporter, and returns the invocation lines it printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[2] / "src"

PRELUDE = """
class Ctx:
    def __init__(self, rid='req-1', ms=30000):
        self.aws_request_id = rid
        self.invoked_function_arn = 'arn:aws:lambda:us-east-1:123456789012:function:fn'
        self.client_context = None
        self._ms = ms
    def get_remaining_time_in_millis(self):
        return self._ms
"""


def run(
    code: str, env: dict[str, str] | None = None, timeout: float = 120
) -> tuple[list[dict[str, Any]], str]:
    """(the JSON invocation lines, the rest of stdout); raises if the process failed."""
    full_env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "ZEROLAG_EXPORTER": "stdout",
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
    }
    full_env.pop("ZEROLAG_REPORT_LOCAL", None)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines, rest = [], []
    for line in proc.stdout.splitlines():
        if line.startswith('{"zerolag":1'):
            lines.append(json.loads(line))
        else:
            rest.append(line)
    return lines, "\n".join(rest)
