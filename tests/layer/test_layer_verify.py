"""`zerolag layer verify ZIP`: structure checks, then a real run in the emulator; non-zero exit on failure."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from zerolag.cli.main import cli
from zerolag.layer.build import build_layer, zip_tree
from zerolag.layer.verify import check_structure, verify_layer


def _verify(zip_path: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["layer", "verify", str(zip_path), *extra])
    return result.exit_code, result.output


@pytest.mark.e2e
def test_a_built_layer_verifies_in_the_emulator(tmp_path: Path) -> None:
    """A layer built from source passes every check: registers, invokes, receives, flushes at SHUTDOWN."""
    code, output = _verify(build_layer(tmp_path / "layer.zip"))
    assert code == 0, output
    for check in (
        "extension registers",
        "cold invocation succeeds",
        "warm invocation succeeds",
        "SHUTDOWN is clean",
        "span forwarded",
        "agent spans forwarded",
    ):
        assert f"ok   {check}" in output
    assert "checks passed" in output
    assert "FAIL" not in output


def test_a_launcher_without_exec_bit_fails_the_structure_check(tmp_path: Path) -> None:
    """A zip whose extensions/zerolag lost its 0755 fails, naming the check, without running anything."""
    source = zipfile.ZipFile(build_layer(tmp_path / "layer.zip"))
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as out:
        for info in source.infolist():
            if info.filename == "extensions/zerolag":
                info.external_attr = 0o100644 << 16
            out.writestr(info, source.read(info))
    code, output = _verify(broken)
    assert code != 0
    assert "FAIL extensions/zerolag is executable" in output
    assert "invocation succeeds" not in output


def test_a_zip_missing_the_extension_package_fails(tmp_path: Path) -> None:
    """Without zerolag/lib/zerolag/extension the documented-layout check fails."""
    source = zipfile.ZipFile(build_layer(tmp_path / "layer.zip"))
    broken = tmp_path / "partial.zip"
    with zipfile.ZipFile(broken, "w") as out:
        for info in source.infolist():
            if not info.filename.startswith("zerolag/lib/zerolag/extension/"):
                out.writestr(info, source.read(info))
    failed = [c for c in check_structure(broken) if not c.ok]
    assert [c.name for c in failed] == ["documented layout"]
    assert "zerolag/lib/zerolag/extension/__main__.py" in failed[0].detail


def test_not_a_zip_fails_clearly(tmp_path: Path) -> None:
    """A file that is not a zip is reported as such, with a non-zero exit."""
    bogus = tmp_path / "bogus.zip"
    bogus.write_bytes(b"not a zip")
    code, output = _verify(bogus)
    assert code != 0
    assert "FAIL readable zip" in output


@pytest.mark.e2e
def test_an_extension_that_crashes_fails_the_run(tmp_path: Path, layer_tree: Path) -> None:
    """A structurally sound layer whose extension exits at start fails verification in the emulator."""
    tree = tmp_path / "tree"
    shutil.copytree(layer_tree, tree)
    main = tree / "zerolag" / "lib" / "zerolag" / "extension" / "__main__.py"
    main.write_text("raise SystemExit(3)\n")
    report = verify_layer(zip_tree(tree, tmp_path / "crashing.zip"))
    assert not report.ok
    failed = {c.name for c in report.checks if not c.ok}
    assert failed & {"extension registers", "cold invocation succeeds", "runs in the emulator"}


def test_json_report_for_tools(tmp_path: Path) -> None:
    """--json --no-run prints one JSON object with every structural check, and exits 0 when all pass."""
    import json

    code, output = _verify(build_layer(tmp_path / "layer.zip"), "--no-run", "--json")
    assert code == 0, output
    report = json.loads(output)
    assert report["ok"] is True
    assert {"readable zip", "documented layout"} <= {c["name"] for c in report["checks"]}
