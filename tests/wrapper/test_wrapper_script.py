"""The exec wrapper script, run for real as Lambda's bootstrap runs it (``zerolag-wrapper <python> <args>``).
A probe interpreter prints what it received (argv and environment) so each behaviour can be checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zerolag.wrapper import HANDLER, script_path

PROBE = (
    "import json, os, sys\n"
    "print(json.dumps({'argv': sys.argv[1:], 'flags': sys.flags.verbose, 'env': dict(os.environ)}))\n"
)


def _run(args: list[str], env: dict[str, str], tmp_path: Path) -> dict:  # type: ignore[type-arg]
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    proc = subprocess.run(
        [script_path(), sys.executable, str(probe), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_script_is_shipped_executable() -> None:
    """The wrapper is package data at zerolag/wrapper/zerolag-wrapper, executable, with a bash shebang."""
    path = Path(script_path())
    assert path.is_file()
    assert os.access(path, os.X_OK)
    assert path.read_text(encoding="utf-8").startswith("#!/bin/bash")


def test_handler_is_swapped_on_python_and_the_original_kept(tmp_path: Path) -> None:
    """On a Python runtime, _HANDLER becomes zerolag's and ZEROLAG_ORIGINAL_HANDLER keeps the user's."""
    out = _run([], {"_HANDLER": "app.handler", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11"}, tmp_path)
    assert out["env"]["_HANDLER"] == HANDLER
    assert out["env"]["ZEROLAG_ORIGINAL_HANDLER"] == "app.handler"


def test_handler_swap_is_idempotent_and_can_be_disabled(tmp_path: Path) -> None:
    """Running through the wrapper twice keeps the user's handler; ZEROLAG_ENABLED=false swaps nothing."""
    out = _run([], {"_HANDLER": HANDLER, "ZEROLAG_ORIGINAL_HANDLER": "app.handler"}, tmp_path)
    assert out["env"]["ZEROLAG_ORIGINAL_HANDLER"] == "app.handler"
    off = _run([], {"_HANDLER": "app.handler", "ZEROLAG_ENABLED": "false"}, tmp_path)
    assert off["env"]["_HANDLER"] == "app.handler"
    assert "ZEROLAG_ORIGINAL_HANDLER" not in off["env"]


def test_original_arguments_pass_through_exactly(tmp_path: Path) -> None:
    """Spaces, quotes, globs, empty strings and newlines in arguments arrive unchanged and in order."""
    args = ["a b", "*", "", "--x='1'", 'say "hi"', "line1\nline2", "$HOME", "-v"]
    out = _run(args, {}, tmp_path)
    assert out["argv"] == args


def test_interpreter_arguments_are_inserted_after_the_interpreter(tmp_path: Path) -> None:
    """ZEROLAG_WRAPPER_ARGS='-v -X dev' reaches the interpreter (python -v is the classic example)."""
    out = _run(["x"], {"ZEROLAG_WRAPPER_ARGS": "-v -X dev"}, tmp_path)
    assert out["flags"] == 1
    assert out["argv"] == ["x"]


def test_environment_variables_are_added(tmp_path: Path) -> None:
    """ZEROLAG_ENV_<NAME>=<value> sets NAME, values with spaces and '=' intact."""
    out = _run([], {"ZEROLAG_ENV_MY_FLAG": "a b=c", "ZEROLAG_ENV_OTHER": "1"}, tmp_path)
    assert out["env"]["MY_FLAG"] == "a b=c"
    assert out["env"]["OTHER"] == "1"


@pytest.mark.parametrize(
    ("name", "current", "added", "expected"),
    [
        (
            "NODE_OPTIONS",
            "--max-old-space-size=512",
            "--require /opt/zl.js",
            "--max-old-space-size=512 --require /opt/zl.js",
        ),
        ("JAVA_TOOL_OPTIONS", "-Xmx1g", "-javaagent:/opt/zl.jar", "-Xmx1g -javaagent:/opt/zl.jar"),
        ("DOTNET_STARTUP_HOOKS", "/opt/a.dll", "/opt/zl.dll", "/opt/a.dll:/opt/zl.dll"),
        ("PYTHONPATH", "/var/task/lib", "/opt/zl", "/var/task/lib:/opt/zl"),
        ("NODE_OPTIONS", "", "--require /opt/zl.js", "--require /opt/zl.js"),
        ("NODE_OPTIONS", "--require /opt/zl.js --x", "--require /opt/zl.js", "--require /opt/zl.js --x"),
    ],
)
def test_list_like_variables_are_merged_not_clobbered(
    tmp_path: Path, name: str, current: str, added: str, expected: str
) -> None:
    """NODE_OPTIONS / JAVA_TOOL_OPTIONS (spaces) and DOTNET_STARTUP_HOOKS / PYTHONPATH (colons) keep the
    user's value and get ours appended once."""
    env = {f"ZEROLAG_ENV_{name}": added}
    if current:
        env[name] = current
    out = _run([], env, tmp_path)
    assert out["env"][name] == expected


def test_next_wrapper_is_chained(tmp_path: Path) -> None:
    """ZEROLAG_NEXT_WRAPPER runs with the interpreter and the arguments, like Lambda would run it."""
    nxt = tmp_path / "next.sh"
    nxt.write_text('#!/bin/sh\nexport CHAINED=yes\nexec "$@"\n', encoding="utf-8")
    nxt.chmod(0o755)
    out = _run(["k"], {"ZEROLAG_NEXT_WRAPPER": str(nxt)}, tmp_path)
    assert out["env"]["CHAINED"] == "yes"
    assert out["argv"] == ["k"]


def test_no_command_is_an_error() -> None:
    """Run without arguments, the wrapper fails with 127 and says why."""
    proc = subprocess.run([script_path()], capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 127
    assert "no command" in proc.stderr
