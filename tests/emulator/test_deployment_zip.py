"""Deployment zips never write, chmod or follow anything outside their directory (issue 11, item 3).

Each hostile zip is built with a victim file next to the extraction directory; after the attempt the victim's
content and mode must be unchanged and the zip refused with the entry named.
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from zerolag.cli.main import cli
from zerolag.emulator import Sandbox
from zerolag.emulator.deployment_zip import UnsafeZipError, extract, merge_tree, problems
from zerolag.layer.build import build_layer


def _entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


def _zip(path: Path, entries: list[tuple[str, int, bytes]]) -> Path:
    """Mode 0 makes an entry as a Windows zip tool does: no Unix mode at all."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, mode, data in entries:
            info = _entry(name, mode)
            if not mode:
                info.create_system = 0
            zf.writestr(info, data)
    return path


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim"
    path.write_text("untouched")
    path.chmod(0o600)
    return path


HOSTILE = {
    "dotdot": [("app.py", 0o100644, b"x"), ("../victim", 0o100777, b"owned")],
    "deep-dotdot": [("a/b/../../../victim", 0o100777, b"owned")],
    "absolute": [("/VICTIM", 0o100777, b"owned")],
    "symlink-then-write": [("link", 0o120777, b".."), ("link/victim", 0o100777, b"owned")],
    "symlink-chmod": [("s", 0o120777, b"../victim")],
    "backslash": [("..\\victim", 0o100777, b"owned")],
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_zip_is_refused_and_changes_nothing_outside(
    tmp_path: Path, victim: Path, case: str
) -> None:
    entries = [(n.replace("VICTIM", str(victim).lstrip("/")), m, d) for n, m, d in HOSTILE[case]]
    source = _zip(tmp_path / "hostile.zip", entries)
    into = tmp_path / "out" / "x"
    with pytest.raises(UnsafeZipError) as refused:
        extract(source, into)
    assert victim.read_text() == "untouched"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o600
    assert not into.exists()
    named = {p.entry for p in refused.value.problems}
    assert named & {n for n, _, _ in entries}, refused.value


def test_a_safe_zip_keeps_modes_and_symlinks_without_special_bits(tmp_path: Path) -> None:
    source = _zip(
        tmp_path / "ok.zip",
        [
            ("bin/", 0o40755, b""),
            ("bin/tool", 0o104755, b"#!/bin/sh\n"),  # setuid: refused
        ],
    )
    with pytest.raises(UnsafeZipError, match="setuid"):
        extract(source, tmp_path / "refused")
    source = _zip(
        tmp_path / "ok2.zip",
        [
            ("bin/tool", 0o100755, b"#!/bin/sh\n"),
            ("lib/libx.so.1", 0o100644, b"elf"),
            ("lib/libx.so", 0o120777, b"libx.so.1"),
            ("lib/abs.so", 0o120777, b"/opt/lib/libx.so.1"),
            ("private.txt", 0o100600, b"p"),
            ("plain.txt", 0, b"windows zip"),
        ],
    )
    into = tmp_path / "opt"
    extract(source, into, mount_point="/opt")
    assert stat.S_IMODE((into / "bin/tool").stat().st_mode) == 0o755
    assert os.readlink(into / "lib/libx.so") == "libx.so.1"
    assert os.readlink(into / "lib/abs.so") == "/opt/lib/libx.so.1"
    assert stat.S_IMODE((into / "private.txt").stat().st_mode) == 0o600
    assert stat.S_IMODE((into / "plain.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((into / "lib").stat().st_mode) == 0o755


def test_a_symlink_to_an_absolute_path_outside_the_mount_point_is_named(tmp_path: Path) -> None:
    source = _zip(tmp_path / "l.zip", [("etc", 0o120777, b"/etc"), ("ok", 0o120777, b"/opt/x")])
    with zipfile.ZipFile(source) as zf:
        found = problems(zf, mount_point="/opt")
    assert [p.entry for p in found] == ["etc"]


def test_a_later_layer_never_writes_through_an_earlier_layers_symlink(tmp_path: Path, victim: Path) -> None:
    """Layer 1 has ``lib -> <outside>``, layer 2 has ``lib/victim``: the merge replaces the link."""
    first = tmp_path / "l1"
    first.mkdir()
    (first / "lib").symlink_to(tmp_path)
    second = tmp_path / "l2"
    (second / "lib").mkdir(parents=True)
    (second / "lib" / "victim").write_text("owned")
    opt = tmp_path / "opt"
    merge_tree(first, opt)
    merge_tree(second, opt)
    assert victim.read_text() == "untouched"
    assert (opt / "lib").is_dir()
    assert not (opt / "lib").is_symlink()
    assert (opt / "lib" / "victim").read_text() == "owned"


def test_layer_verify_no_run_fails_and_names_the_unsafe_entries(tmp_path: Path, victim: Path) -> None:
    """A built layer plus ``../../x``, ``/abs`` and an escaping symlink: verify --no-run fails, names each."""
    good = zipfile.ZipFile(build_layer(tmp_path / "layer.zip"))
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as out:
        for info in good.infolist():
            out.writestr(info, good.read(info))
        out.writestr(_entry("../../x", 0o100777), b"x")
        out.writestr(_entry("/abs/path", 0o100777), b"x")
        out.writestr(_entry("python/escape", 0o120777), b"../../../etc")
    for extra in (["--no-run"], []):
        result = CliRunner().invoke(cli, ["layer", "verify", str(bad), *extra])
        assert result.exit_code != 0, result.output
        line = next(line for line in result.output.splitlines() if "entries stay inside /opt" in line)
        assert line.startswith("FAIL")
        for name in ("../../x", "/abs/path", "python/escape"):
            assert name in line
        assert "invocation succeeds" not in result.output
    assert victim.read_text() == "untouched"


@pytest.mark.e2e
def test_the_emulator_refuses_a_hostile_layer_and_runs_a_safe_one(tmp_path: Path, victim: Path) -> None:
    """End to end: a layer zip with ``../victim`` never starts a sandbox and never touches the victim."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text("def handler(event, context):\n    return open('/opt/data.txt').read()\n")
    rel = os.path.relpath(victim, tmp_path / "sandbox-root-guess")
    hostile = _zip(tmp_path / "hostile.zip", [("data.txt", 0o100644, b"d"), (rel, 0o100777, b"owned")])
    with pytest.raises(UnsafeZipError):
        Sandbox(code=code, handler="app.handler", layers=[hostile], timeout=30).start()
    assert victim.read_text() == "untouched"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o600
    safe = _zip(tmp_path / "safe.zip", [("data.txt", 0o100644, b"from the layer")])
    with Sandbox(code=code, handler="app.handler", layers=[safe], timeout=30) as sb:
        result = sb.invoke({})
    assert result.status == "success", result.body
    assert result.json() == "from the layer"


def test_zerolag_emulate_refuses_a_hostile_code_zip_clearly(tmp_path: Path, victim: Path) -> None:
    """The CLI names the entry and exits 1, no traceback, nothing written outside."""
    code = _zip(tmp_path / "code.zip", [("app.py", 0o100644, b"x"), ("../victim", 0o100777, b"owned")])
    result = CliRunner().invoke(cli, ["emulate", "--code", str(code), "--handler", "app.handler"])
    assert result.exit_code == 1, result.output
    assert "unsafe zip entries" in result.output
    assert "'../victim'" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert victim.read_text() == "untouched"
