"""Verify a layer zip: its structure, then a real run in the emulator.

The run uses a tiny handler and the layer as the only layer: the extension must register, an invocation must
succeed with the expected response, and SHUTDOWN must end the sandbox cleanly. Each step is one ``Check`` in
the report, so a failure says which step failed and why.
"""

from __future__ import annotations

import json
import platform
import stat
import tempfile
import zipfile
from pathlib import Path

from zerolag.emulator import deployment_zip
from zerolag.layer.build import AGENT_LIB, EXTENSION_LIB, LAUNCHER, WRAPPER
from zerolag.layer.report import Check, Report
from zerolag.layer.verify_run import run_checks

MAX_UNZIPPED_BYTES = 250 * 1024 * 1024  # Lambda's limit for function code plus all layers, unzipped
REQUIRED_FILES = (
    LAUNCHER.as_posix(),
    f"{EXTENSION_LIB.as_posix()}/zerolag/__init__.py",
    f"{EXTENSION_LIB.as_posix()}/zerolag/extension/__main__.py",
    f"{AGENT_LIB.as_posix()}/zerolag/__init__.py",
)
FORBIDDEN_PARTS = frozenset({"tests", "emulator", "collector", "cli", "layer"})


def _mode(info: zipfile.ZipInfo) -> int:
    return info.external_attr >> 16


def _executable_check(infos: dict[str, zipfile.ZipInfo], name: str) -> Check:
    info = infos.get(name)
    if info is None:
        return Check(f"{name} is executable", False, "missing")
    mode = _mode(info)
    ok = stat.S_ISREG(mode) and bool(mode & stat.S_IXUSR)
    return Check(f"{name} is executable", ok, f"mode {stat.filemode(mode)}")


def check_structure(zip_path: Path) -> list[Check]:
    """The static checks: a readable zip with the documented layout, permissions and no stray code."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [Check("readable zip", False, str(exc))]
    with archive:
        infos = {info.filename: info for info in archive.infolist()}
        launcher = archive.read(LAUNCHER.as_posix()) if LAUNCHER.as_posix() in infos else b""
        unsafe = deployment_zip.problems(archive, mount_point="/opt")
    checks = [Check("readable zip", True, f"{len(infos)} entries")]
    # Entries that would write, chmod or point outside /opt fail the layer, each named with its reason.
    checks.append(Check("entries stay inside /opt", not unsafe, "; ".join(str(p) for p in unsafe)))
    missing = [name for name in REQUIRED_FILES if name not in infos]
    checks.append(Check("documented layout", not missing, f"missing {', '.join(missing)}" if missing else ""))
    checks.append(_executable_check(infos, LAUNCHER.as_posix()))
    checks.append(Check("launcher is a sh script", launcher.startswith(b"#!/bin/sh")))
    if WRAPPER.as_posix() in infos:
        checks.append(_executable_check(infos, WRAPPER.as_posix()))
    stray = sorted(name for name in infos if FORBIDDEN_PARTS & set(name.split("/")))
    checks.append(Check("no tests/emulator/collector/cli code", not stray, ", ".join(stray[:5])))
    unzipped = sum(info.file_size for info in infos.values())
    checks.append(Check("unzipped size under 250 MB", unzipped < MAX_UNZIPPED_BYTES, f"{unzipped} bytes"))
    return checks


def _bundled_cpu(zip_path: Path) -> str | None:
    """The CPU of the any-runtime layer's bundled interpreter; None for the Python-runtime layer."""
    from zerolag.layer.anyruntime import elf
    from zerolag.layer.anyruntime.layer import BUNDLED_EXECUTABLE

    with zipfile.ZipFile(zip_path) as archive:
        if BUNDLED_EXECUTABLE.as_posix() not in archive.namelist():
            return None
        try:
            return elf.parse(archive.read(BUNDLED_EXECUTABLE.as_posix())).machine_name
        except elf.ElfError:
            return "unknown"


def verify_layer(zip_path: Path, *, run: bool = True, timeout: float = 3.0) -> Report:
    """Check ``zip_path``'s structure and, when ``run`` and the structure is sound, run it in the emulator
    (``timeout``: the function's timeout, Lambda's default of 3 s).

    An any-runtime layer (docs/layer.md) also gets its bundled interpreter checked (ELF, start, imports),
    and its emulator run is on ``nodejs20.x``, where the sandbox has no Python but the bundled one. A layer
    for another architecture than this machine's is not run in the emulator (its interpreter still is, under
    qemu-user)."""
    zip_path = Path(zip_path)
    report = Report(check_structure(zip_path))
    if not report.ok:
        return report
    cpu = _bundled_cpu(zip_path)
    with tempfile.TemporaryDirectory(prefix="zerolag-verify-") as tmp:
        if cpu is not None:
            from zerolag.layer.anyruntime.verify import interpreter_checks

            (Path(tmp) / "interpreter").mkdir()
            report.checks.extend(interpreter_checks(zip_path, Path(tmp) / "interpreter"))
        if run and report.ok and cpu in (None, platform.machine()):
            runtime = None if cpu is None else "nodejs20.x"  # None: the emulator's own python3.X
            (Path(tmp) / "run").mkdir()
            report.checks.extend(run_checks(zip_path, Path(tmp) / "run", timeout=timeout, runtime=runtime))
    return report


def report_json(report: Report) -> str:
    """The report as JSON (for tools)."""
    checks = [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in report.checks]
    return json.dumps({"ok": report.ok, "checks": checks})
