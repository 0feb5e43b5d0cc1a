"""The layer zip: its layout (docs/INTERFACES.md), permissions, size, contents and determinism."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from zerolag.cli.main import cli
from zerolag.layer.build import PACKAGE_ROOT, build_layer

MAX_LAYER_BYTES = 1024 * 1024  # the layer is source only: well under 1 MiB zipped


@pytest.fixture(scope="module")
def layer_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_layer(tmp_path_factory.mktemp("zip") / "layer.zip")


def _mode(info: zipfile.ZipInfo) -> int:
    return info.external_attr >> 16


def test_layer_has_the_documented_layout(layer_zip: Path) -> None:
    """The zip holds the launcher, the extension's private package and the agent under python/."""
    names = set(zipfile.ZipFile(layer_zip).namelist())
    for required in (
        "extensions/zerolag",
        "zerolag/lib/zerolag/__init__.py",
        "zerolag/lib/zerolag/lambda_wire/__init__.py",
        "zerolag/lib/zerolag/otlp/__init__.py",
        "python/zerolag/__init__.py",
        "python/zerolag/lambda_wire/__init__.py",
        "python/zerolag/otlp/__init__.py",
    ):
        assert required in names
    for component, prefix in (("extension", "zerolag/lib/"), ("agent", "python/"), ("wrapper", "python/")):
        if (PACKAGE_ROOT / component / "__init__.py").is_file():
            assert f"{prefix}zerolag/{component}/__init__.py" in names


def test_launcher_and_wrapper_are_executable(layer_zip: Path) -> None:
    """extensions/zerolag and zerolag-wrapper are regular files with mode 0755; modules are 0644."""
    infos = {info.filename: info for info in zipfile.ZipFile(layer_zip).infolist()}
    executables = {"extensions/zerolag"}
    if (PACKAGE_ROOT / "wrapper" / "zerolag-wrapper").is_file():
        executables.add("zerolag-wrapper")
    for name in executables:
        mode = _mode(infos[name])
        assert stat.S_ISREG(mode)
        assert stat.S_IMODE(mode) == 0o755
    for name, info in infos.items():
        if name.endswith(".py"):
            assert stat.S_IMODE(_mode(info)) == 0o644, name


def test_wrapper_is_shipped_at_the_layer_root(layer_zip: Path) -> None:
    """The exec wrapper script is at /opt/zerolag-wrapper, byte for byte the package's copy."""
    source = PACKAGE_ROOT / "wrapper" / "zerolag-wrapper"
    if not source.is_file():
        pytest.skip("the wrapper script is not written yet (src/zerolag/wrapper/zerolag-wrapper)")
    assert zipfile.ZipFile(layer_zip).read("zerolag-wrapper") == source.read_bytes()


def test_layer_excludes_code_that_does_not_run_in_lambda(layer_zip: Path) -> None:
    """No tests, emulator, collector, layer or cli code; agent and extension stay on their own side."""
    names = zipfile.ZipFile(layer_zip).namelist()
    for name in names:
        parts = name.split("/")
        assert not {"tests", "emulator", "collector", "cli", "layer", "__pycache__"} & set(parts), name
        assert not name.endswith((".pyc", "py.typed")), name
        if name.startswith("zerolag/lib/"):
            assert "agent" not in parts, name
            assert "wrapper" not in parts, name
        if name.startswith("python/"):
            assert "extension" not in parts, name


def test_layer_is_small(layer_zip: Path) -> None:
    """The zip stays under its size bound (Lambda allows 50 MB; we ship source only)."""
    assert 0 < layer_zip.stat().st_size < MAX_LAYER_BYTES


def test_two_builds_are_byte_identical(tmp_path: Path, layer_zip: Path) -> None:
    """Builds are deterministic: fixed timestamps, sorted entries, explicit permissions."""
    again = build_layer(tmp_path / "again.zip")
    assert again.read_bytes() == layer_zip.read_bytes()
    assert {info.date_time for info in zipfile.ZipFile(again).infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_compiled_layer_ships_unchecked_hash_pyc(tmp_path: Path) -> None:
    """With compile_with, every module has an unchecked hash-based .pyc (valid on read-only /opt)."""
    import sys

    archive = zipfile.ZipFile(build_layer(tmp_path / "compiled.zip", compile_with=sys.executable))
    names = archive.namelist()
    sources = [n for n in names if n.endswith(".py")]
    tag = sys.implementation.cache_tag
    for source in sources:
        folder, _, module = source.rpartition("/")
        pyc = f"{folder}/__pycache__/{module[:-3]}.{tag}.pyc"
        assert pyc in names, pyc
        flags = int.from_bytes(archive.read(pyc)[4:8], "little")
        assert flags == 0b01, pyc  # hash-based, check_source off


def test_cli_builds_the_layer(tmp_path: Path) -> None:
    """`zerolag layer build --out PATH` writes the zip and prints its path."""
    out = tmp_path / "cli" / "layer.zip"
    result = CliRunner().invoke(cli, ["layer", "build", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    assert "extensions/zerolag" in zipfile.ZipFile(out).namelist()


def _other_python() -> tuple[str, str] | None:
    """Another runnable python3.1x on PATH and its cache tag (pyenv shims may exist but not run)."""
    import shutil
    import subprocess
    import sys

    for minor in (10, 12, 13, 14):
        found = shutil.which(f"python3.{minor}")
        if minor == sys.version_info[1] or found is None:
            continue
        probe = [found, "-c", "import sys; print(sys.implementation.cache_tag)"]
        result = subprocess.run(probe, capture_output=True, text=True, check=False)
        if result.returncode == 0:
            return found, result.stdout.strip()
    return None


def test_compiling_for_two_pythons_ships_both_tags(tmp_path: Path) -> None:
    """`layer build --compile --python A --python B` ships .pyc for both versions side by side."""
    import sys

    found = _other_python()
    if found is None:
        pytest.skip("no second runnable python3.1x on PATH")
    other, tag = found
    out = tmp_path / "multi.zip"
    argv = ["layer", "build", "--out", str(out), "--compile", "--python", sys.executable, "--python", other]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, result.output
    names = zipfile.ZipFile(out).namelist()
    for cache_tag in (sys.implementation.cache_tag, tag):
        assert f"zerolag/lib/zerolag/__pycache__/__init__.{cache_tag}.pyc" in names
        assert f"python/zerolag/__pycache__/__init__.{cache_tag}.pyc" in names
