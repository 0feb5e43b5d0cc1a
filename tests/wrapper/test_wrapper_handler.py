"""zerolag.wrapper.handler: loads the original handler and wraps it with the agent."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def _python(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": f"{SRC}:{tmp_path}", "ZEROLAG_EXPORTER": "none", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_original_handler_is_loaded_and_wrapped(tmp_path: Path) -> None:
    """The swapped-in handler returns what the user's handler (at a path in a package) returns, wrapped."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "app.py").write_text("def handler(e, c):\n    return {'got': e}\n")
    proc = _python(
        """
        from zerolag.wrapper.handler import handler
        print(handler({'x': 1}, None), getattr(handler, '__zerolag_wrapped__', False), handler.__name__)
        """,
        tmp_path,
        ZEROLAG_ORIGINAL_HANDLER="pkg/app.handler",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "{'got': {'x': 1}} True handler"


def test_missing_original_handler_fails_clearly(tmp_path: Path) -> None:
    """Without ZEROLAG_ORIGINAL_HANDLER the import fails with a message naming the variable."""
    proc = _python("import zerolag.wrapper.handler", tmp_path, ZEROLAG_ORIGINAL_HANDLER="")
    assert proc.returncode != 0
    assert "ZEROLAG_ORIGINAL_HANDLER" in proc.stderr
