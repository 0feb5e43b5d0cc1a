"""The any-runtime layer's parts: the pinned-source check, the ELF reader, the trimmed standard library, and
``layer verify`` on the built zips (the interpreter checks can fail: a host binary needs a newer glibc)."""

from __future__ import annotations

import os
import platform
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from zerolag.cli.main import cli
from zerolag.layer.anyruntime import elf, pins
from zerolag.layer.anyruntime.build_python import BuildError, cached, fetch_sources
from zerolag.layer.anyruntime.layer import BUNDLED_EXECUTABLE, BUNDLED_STDLIB, ZIP_BUDGET_BYTES
from zerolag.layer.anyruntime.verify import elf_checks

HOST_ARCH = {"aarch64": "arm64"}.get(platform.machine(), platform.machine())


def test_a_tarball_that_does_not_match_its_pin_stops_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A changed archive never changes the interpreter: the sha256 check names the file and the pin."""
    monkeypatch.setenv("ZEROLAG_CACHE_DIR", str(tmp_path))
    (tmp_path / "src").mkdir()
    for pin in pins.SOURCES:
        (tmp_path / "src" / pin.tarball).write_bytes(b"not the pinned tarball")
    with pytest.raises(BuildError, match=r"sha256 \w+, pinned"):
        fetch_sources(tmp_path, lambda _msg: None)


def test_the_elf_reader_finds_the_glibc_versions_a_binary_needs() -> None:
    """This machine's python: its machine, its loader, and glibc symbol versions (readelf -V's records)."""
    data = Path(os.path.realpath(sys.executable)).read_bytes()
    info = elf.parse(data)
    assert info.machine_name == platform.machine()
    assert info.interpreter is not None
    assert "ld-linux" in info.interpreter
    versions = info.glibc_versions()
    assert versions
    assert versions[0] >= (2, 0)
    assert any(lib.startswith("libc.so") for lib in info.needed)


def test_the_glibc_check_fails_a_binary_built_for_a_newer_glibc() -> None:
    """A binary linked on this machine (Debian 12: glibc 2.36) needs symbols newer than 2.26."""
    data = Path(os.path.realpath(sys.executable)).read_bytes()
    if elf.parse(data).glibc_versions()[-1] <= (2, 26):
        pytest.skip("this machine's python needs no glibc newer than 2.26")
    checks = {check.name: check for check in elf_checks(data)[0]}
    assert not checks["bundled python needs glibc 2.26 at most"].ok


@pytest.mark.parametrize("junk", [b"", b"#!/bin/sh\necho hi\n", b"\x7fELF\x01\x01" + b"\0" * 64])
def test_the_elf_reader_refuses_what_is_not_a_64_bit_elf(junk: bytes) -> None:
    with pytest.raises(elf.ElfError):
        elf.parse(junk)


def test_a_truncated_elf_is_an_error_not_a_crash() -> None:
    data = Path(os.path.realpath(sys.executable)).read_bytes()[:200]
    with pytest.raises(elf.ElfError):
        elf.parse(data)


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the stdlib holds 3.11 bytecode")
def test_the_stdlib_holds_what_the_extension_imports_and_nothing_big_besides(tmp_path: Path) -> None:
    """ssl, http.client, json and the lazily loaded codecs are in; test suites and GUIs are not; only .pyc;
    two builds are byte-identical."""
    import subprocess

    from zerolag.layer.anyruntime.build_python import HERE
    from zerolag.layer.build import EXTENSION_LIB, build_layer_tree

    tree = build_layer_tree(tmp_path / "layer")
    lib = sysconfig.get_paths()["stdlib"]
    contents = []
    for n in range(2):
        out = tmp_path / f"stdlib-{n}"
        out.mkdir()
        script = str(HERE / "stdlib_pyc.py")
        subprocess.run(
            [sys.executable, "-I", "-S", script, lib, str(tree / EXTENSION_LIB), str(out)], check=True
        )
        contents.append(
            {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
        )
    assert contents[0] == contents[1]
    names = set(contents[0])
    for needed in ("ssl.pyc", "http/client.pyc", "json/__init__.pyc", "encodings/idna.pyc", "stringprep.pyc"):
        assert needed in names
    assert not any(name.startswith(("test/", "tkinter/", "unittest/", "idlelib/")) for name in names)
    assert all(name.endswith(".pyc") for name in names)


# --- the built layer --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def any_zips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The any-runtime zips for this machine's architecture and any other already built (docs/layer.md)."""
    from zerolag.layer.anyruntime.layer import build_any_layer

    arches = [arch for arch in pins.ARCHES if arch == HOST_ARCH or cached(arch) is not None]
    zips = build_any_layer(tmp_path_factory.mktemp("any"), arches=arches)
    return {path.stem.removeprefix("zerolag-layer-any-"): path for path in zips}


def test_each_zip_is_under_the_size_budget_and_has_the_interpreter(any_zips: dict[str, Path]) -> None:
    for arch, path in any_zips.items():
        assert path.stat().st_size < ZIP_BUDGET_BYTES, (arch, path.stat().st_size)
        names = zipfile.ZipFile(path).namelist()
        assert BUNDLED_EXECUTABLE.as_posix() in names
        assert f"{BUNDLED_STDLIB.as_posix()}/ssl.pyc" in names
        machine = elf.parse(zipfile.ZipFile(path).read(BUNDLED_EXECUTABLE.as_posix())).machine
        assert machine == pins.ARCHES[arch].elf_machine


@pytest.mark.e2e
def test_the_host_zip_verifies_with_its_interpreter_and_on_a_runtime_without_python(
    any_zips: dict[str, Path],
) -> None:
    result = CliRunner().invoke(cli, ["layer", "verify", str(any_zips[HOST_ARCH])])
    assert result.exit_code == 0, result.output
    for check in (
        "bundled python needs glibc 2.26 at most",
        "bundled python links only glibc",
        "bundled python starts and imports the extension",
        "nodejs20.x sandbox has no Python but the layer's",
        "extension registers",
        "cold invocation succeeds",
        "SHUTDOWN is clean",
        "span forwarded to the backend",
    ):
        assert f"ok   {check}" in result.output, result.output


def test_the_other_architecture_verifies_under_qemu(any_zips: dict[str, Path]) -> None:
    """The arm64 zip on an x86_64 machine (or the reverse): ELF checks and a run under qemu-user."""
    others = [arch for arch in any_zips if arch != HOST_ARCH]
    if not others:
        pytest.skip("only this machine's architecture is built (make layer-any builds both)")
    result = CliRunner().invoke(cli, ["layer", "verify", str(any_zips[others[0]])])
    assert result.exit_code == 0, result.output
    assert "ok   bundled python starts and imports the extension" in result.output
    assert "under qemu" in result.output


def test_verify_fails_a_zip_whose_interpreter_needs_a_newer_glibc(
    any_zips: dict[str, Path], tmp_path: Path
) -> None:
    """Swap in this machine's python (linked against its newer glibc): the glibc check fails by name."""
    source = zipfile.ZipFile(any_zips[HOST_ARCH])
    host_python = Path(os.path.realpath(sys.executable)).read_bytes()
    if elf.parse(host_python).glibc_versions()[-1] <= (2, 26):
        pytest.skip("this machine's python needs no glibc newer than 2.26")
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as out:
        for info in source.infolist():
            data = host_python if info.filename == BUNDLED_EXECUTABLE.as_posix() else source.read(info)
            out.writestr(info, data)
    result = CliRunner().invoke(cli, ["layer", "verify", "--no-run", str(broken)])
    assert result.exit_code != 0
    assert "FAIL bundled python needs glibc 2.26 at most" in result.output


def test_publishing_an_any_runtime_zip_takes_its_architecture_from_the_interpreter(
    any_zips: dict[str, Path], aws_env: str
) -> None:
    """Without --arch/--runtimes: the interpreter's architecture and the non-Python runtimes; a wrong
    --arch is refused before anything is uploaded."""
    import boto3

    zip_path = any_zips[HOST_ARCH]
    argv = ["layer", "publish", "--name", "zerolag-any-test", "--region", "eu-west-1", "--zip", str(zip_path)]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, result.output
    name, number = result.output.strip().split(":")[-2:]
    client = boto3.client("lambda", region_name="eu-west-1")
    version = client.get_layer_version(LayerName=name, VersionNumber=int(number))
    assert version["CompatibleArchitectures"] == [HOST_ARCH]
    assert {"nodejs20.x", "java21", "dotnet8", "provided.al2023"} <= set(version["CompatibleRuntimes"])
    other = "arm64" if HOST_ARCH == "x86_64" else "x86_64"
    refused = CliRunner().invoke(cli, [*argv, "--arch", other])
    assert refused.exit_code != 0
    assert f"interpreter is {HOST_ARCH}" in refused.output
