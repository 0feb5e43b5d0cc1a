"""The runtime follows the interpreter (issue 11, item 5): ``python3.X`` runs the function on an installed
CPython 3.X with its own awslambdaric, and every label (``AWS_EXECUTION_ENV``, ``INIT_START Runtime Version``,
the initStart record) says so; a version that is not installed fails clearly."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from zerolag.cli.main import cli
from zerolag.emulator import Sandbox
from zerolag.emulator.runtimes import RuntimeNotAvailable, find_interpreter, parse

HANDLER = """import os, sys

def handler(event, context):
    return {"version": "%d.%d" % sys.version_info[:2], "env": os.environ.get("AWS_EXECUTION_ENV"),
            "executable": sys.executable}
"""
OWN = f"{sys.version_info[0]}.{sys.version_info[1]}"


@pytest.fixture
def code(tmp_path: Path) -> Path:
    path = tmp_path / "code"
    path.mkdir()
    (path / "app.py").write_text(HANDLER)
    return path


def _other_version() -> str | None:
    """Another installed CPython 3.10+ than the one running the tests, if the machine has one."""
    for minor in range(10, 16):
        version = f"3.{minor}"
        if version == OWN:
            continue
        try:
            find_interpreter(version)
        except RuntimeNotAvailable:
            continue
        return version
    return None


def _run(code: Path, runtime: str | None) -> tuple[dict[str, str], list[str], list[dict[str, object]]]:
    lines: list[str] = []
    sandbox = Sandbox(
        code=code,
        handler="app.handler",
        runtime=runtime,
        timeout=30,
        on_log=lambda line: lines.append(line.text),
    )
    with sandbox as sb:
        result = sb.invoke({})
        assert result.status == "success", result.body
        starts = [e["record"] for e in sb.telemetry if e["type"] == "platform.initStart"]
    return result.json(), lines, starts  # type: ignore[return-value]


@pytest.mark.e2e
def test_the_default_runtime_is_the_emulators_own_python(code: Path) -> None:
    body, lines, starts = _run(code, None)
    assert body["version"] == OWN
    assert body["env"] == f"AWS_Lambda_python{OWN}"
    assert body["executable"] == f"/var/lang/bin/python{OWN}"
    assert f"INIT_START Runtime Version: python{OWN}" in lines
    assert starts[0]["runtimeVersion"] == f"python{OWN}"


@pytest.mark.e2e
def test_another_installed_version_runs_with_its_own_awslambdaric(code: Path) -> None:
    """Skipped only when the machine has no second CPython 3.10+ (pyenv, /usr/bin, PATH are searched)."""
    other = _other_version()
    if other is None:
        pytest.skip(f"no CPython 3.10+ other than {OWN} installed here")
    body, lines, starts = _run(code, f"python{other}")
    assert body["version"] == other
    assert body["env"] == f"AWS_Lambda_python{other}"
    assert f"INIT_START Runtime Version: python{other}" in lines
    assert starts[0]["runtimeVersion"] == f"python{other}"


def test_an_unknown_or_missing_runtime_fails_clearly(code: Path) -> None:
    with pytest.raises(RuntimeNotAvailable, match=r"unknown runtime .python2\.7."):
        Sandbox(code=code, handler="app.handler", runtime="python2.7")
    with pytest.raises(RuntimeNotAvailable, match=r"no CPython 3\.99 installed"):
        find_interpreter("3.99")
    result = CliRunner().invoke(
        cli, ["emulate", "--code", str(code), "--handler", "app.handler", "--runtime", "python3.99"]
    )
    assert result.exit_code == 2
    assert "no CPython 3.99 installed" in result.output
    assert parse("provided.al2023").family == "provided"
    assert parse("python3.10").version == "3.10"
