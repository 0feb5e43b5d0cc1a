"""``layer verify`` for the any-runtime layer: the bundled interpreter itself (docs/layer.md, "Verify").

- its ELF file: the expected machine, and no glibc symbol version newer than the oldest Lambda base image's
  (2.26, Amazon Linux 2), and no shared library beyond glibc's own (OpenSSL and zlib are linked in);
- it starts with the layer's PYTHONHOME and imports every module of the extension, creates a default TLS
  context (OpenSSL linked and working) and encodes an IDNA host name (the lazily loaded codecs are there).

A binary for another architecture runs under ``qemu-<cpu>-static`` / ``qemu-<cpu>`` (Debian's
qemu-user-static, with the glibc of ``libc6-arm64-cross``); without them that check fails and says so,
rather than passing unrun.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import zipfile
from pathlib import Path

from zerolag.layer.anyruntime import elf, pins
from zerolag.layer.anyruntime.layer import BUNDLED, BUNDLED_EXECUTABLE
from zerolag.layer.build import EXTENSION_LIB
from zerolag.layer.report import Check

GLIBC_LIMIT = tuple(int(part) for part in pins.GLIBC_TARGET.split("."))
# What every glibc-based Lambda image has; anything else must be linked into the interpreter.
SYSTEM_LIBRARIES = frozenset(
    {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1"}
)
_LOADERS = ("ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1")

# Run by the bundled interpreter: import the whole extension, then the things loaded only at run time.
IMPORT_PROBE = """
import importlib, json, pathlib, sys
lib = pathlib.Path(sys.argv[1])
names = []
for path in sorted(lib.rglob("*.py")):
    parts = path.relative_to(lib).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    names.append(".".join(parts))
for name in names:
    importlib.import_module(name)
import hashlib, ssl, zlib
context = ssl.create_default_context()
assert context.verify_mode == ssl.CERT_REQUIRED
hashlib.sha256(b"x").hexdigest()
zlib.decompress(zlib.compress(b"x"))
"b\\u00fccher.example".encode("idna")
print(json.dumps({"modules": len(names), "version": sys.version.split()[0], "openssl": ssl.OPENSSL_VERSION,
                  "stdlib": [p for p in sys.path if "python3" in p]}))
"""


def has_bundled_python(names: list[str]) -> bool:
    return BUNDLED_EXECUTABLE.as_posix() in names


def elf_checks(data: bytes) -> tuple[list[Check], str | None]:
    """The ELF checks, and the binary's CPU (``x86_64``/``aarch64``) when it parsed."""
    try:
        info = elf.parse(data)
    except elf.ElfError as exc:
        return [Check("bundled python is an ELF executable", False, str(exc))], None
    checks = [Check("bundled python is an ELF executable", info.machine in elf.MACHINES, info.machine_name)]
    newest = info.glibc_versions()[-1] if info.glibc_versions() else None
    shown = "GLIBC_" + ".".join(map(str, newest)) if newest else "no versioned glibc symbols (static)"
    checks.append(
        Check(
            f"bundled python needs glibc {pins.GLIBC_TARGET} at most",
            newest is None or newest <= GLIBC_LIMIT,
            f"newest symbol {shown}",
        )
    )
    extra = sorted(lib for lib in info.needed if lib not in SYSTEM_LIBRARIES and lib not in _LOADERS)
    checks.append(
        Check(
            "bundled python links only glibc", not extra, ", ".join(extra) or ", ".join(sorted(info.needed))
        )
    )
    return checks, info.machine_name


def _runner(cpu: str) -> list[str] | None:
    """How to run a binary for ``cpu`` here: directly, under qemu-user (with the cross glibc Debian's
    ``libc6-<arch>-cross`` puts in ``/usr/<cpu>-linux-gnu`` as the loader's root), or not at all (None)."""
    if cpu == platform.machine():
        return []
    sysroot = Path(f"/usr/{cpu}-linux-gnu")
    for name in (f"qemu-{cpu}-static", f"qemu-{cpu}"):
        found = shutil.which(name)
        if found:
            return [found, "-L", str(sysroot)] if sysroot.is_dir() else [found]
    return None


def run_check(tree: Path, cpu: str, timeout: float = 120.0) -> Check:
    """Start the bundled interpreter in ``tree`` (an extracted layer) and import the extension with it."""
    name = "bundled python starts and imports the extension"
    runner = _runner(cpu)
    if runner is None:
        return Check(
            name, False, f"cannot run {cpu} code here: install qemu-user-static and libc6-arm64-cross"
        )
    exe = tree / BUNDLED_EXECUTABLE
    env = {
        "PYTHONHOME": str(tree / BUNDLED),
        "PYTHONPATH": str(tree / EXTENSION_LIB),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PATH": "/usr/bin:/bin",
    }
    argv = [*runner, str(exe), "-S", "-c", IMPORT_PROBE, str(tree / EXTENSION_LIB)]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(name, False, f"{type(exc).__name__}: {exc}")
    if result.returncode != 0:
        return Check(name, False, (result.stderr or result.stdout).strip()[-600:])
    try:
        report = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return Check(name, False, f"unexpected output: {result.stdout[-300:]!r}")
    how = f" under {Path(runner[0]).name}" if runner else ""
    stdlib_inside = all(str(tree) in path for path in report.get("stdlib", []))
    detail = f"Python {report['version']}, {report['openssl']}, {report['modules']} modules{how}"
    if not stdlib_inside:
        return Check(name, False, f"standard library from outside the layer: {report.get('stdlib')}")
    return Check(name, True, detail)


def interpreter_checks(zip_path: Path, work: Path) -> list[Check]:
    """ELF checks, then (extracting the layer into ``work``) a run of the bundled interpreter."""
    with zipfile.ZipFile(zip_path) as archive:
        checks, cpu = elf_checks(archive.read(BUNDLED_EXECUTABLE.as_posix()))
        if cpu is None:
            return checks
        tree = work / "layer"
        for info in archive.infolist():
            archive.extract(info, tree)
            mode = info.external_attr >> 16
            if mode & 0o111:
                (tree / info.filename).chmod(mode & 0o777)
    checks.append(run_check(tree, cpu))
    return checks
