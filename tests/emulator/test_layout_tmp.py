"""The sandbox's private /tmp must not hide what the sandbox is built from: a checkout under /tmp (as CI may
clone one) keeps its runtime dir, code and layers visible to the sandbox's processes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from zerolag.emulator import Sandbox
from zerolag.emulator.runtime_files import current_interpreter
from zerolag.emulator.runtimes import runtime_dir

pytestmark = pytest.mark.e2e

HELLO = Path(__file__).resolve().parents[2] / "examples" / "emulator" / "hello"
RUNTIME_PARTS = ("awslambdaric", "runtime_client", "simplejson", "snapshot_restore_py")


def test_a_runtime_dir_under_tmp_stays_visible_inside_the_sandbox(tmp_path: Path) -> None:
    """A runtime dir that lives under /tmp still serves awslambdaric to the function."""
    source = runtime_dir(current_interpreter())  # the one built for this interpreter's version
    if not (source / "awslambdaric").is_dir():
        pytest.skip("no awslambdaric runtime dir to copy")
    runtime = tmp_path / "lambda-runtime"
    runtime.mkdir()
    for entry in source.iterdir():
        if entry.name.startswith(RUNTIME_PARTS):
            copy = shutil.copytree if entry.is_dir() else shutil.copy2
            copy(entry, runtime / entry.name)
    assert str(runtime).startswith("/tmp/") or not str(tmp_path).startswith("/tmp/")
    with Sandbox(code=HELLO, handler="app.handler", runtime_dir=runtime, timeout=30) as sb:
        result = sb.invoke({"a": 1})
    assert result.status == "success", result.body
    assert result.json()["echo"] == {"a": 1}
