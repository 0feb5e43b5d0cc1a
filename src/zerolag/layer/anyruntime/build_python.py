"""Build the portable CPython the any-runtime layer carries (docs/layer.md, "The bundled CPython").

Everything comes through the ordinary package clients and is checked: the zlib, OpenSSL and CPython sources
as Debian source packages (``apt-get source`` with a private apt configuration holding the ``deb-src``
entries, so the machine's own apt sources are not touched), their tarballs against the sha256 in
``pins.py``, and Zig from PyPI with ``pip --require-hashes``. Zig cross-compiles for
``<cpu>-linux-gnu.2.26``: the result runs on every Lambda base image (Amazon Linux 2 has glibc 2.26,
AL2023 2.34).

The work is cached under ``$ZEROLAG_CACHE_DIR`` (default ``~/.cache/zerolag/anyruntime``), never in the
work tree. Each step (zlib, OpenSSL, CPython) leaves a stamp holding the hash of its recipe (the step's
script, the pins, the Zig version); a step whose stamp matches is skipped, so a second build costs nothing
and a changed recipe rebuilds only from the changed step on. One architecture builds at a time (a lock file),
with ``nice`` and ``JOBS`` (default 2) compile jobs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from zerolag.layer.anyruntime import pins

HERE = Path(__file__).resolve().parent
STEPS = ("zlib", "openssl", "cpython")
_PINS = {"zlib": pins.ZLIB, "openssl": pins.OPENSSL, "cpython": pins.PYTHON}
Progress = Callable[[str], None]


class BuildError(RuntimeError):
    """The bundled interpreter could not be built; the message says which step and shows its log's tail."""


@dataclass(frozen=True)
class BuiltPython:
    """A built interpreter: ``bin/python3.11`` and the ``Lib`` sources it was built from."""

    arch: str
    root: Path

    @property
    def executable(self) -> Path:
        return self.root / "bin" / f"python{pins.PYTHON_VERSION}"

    @property
    def stdlib(self) -> Path:
        return self.root / "Lib"


def cache_dir() -> Path:
    env = os.environ.get("ZEROLAG_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zerolag" / "anyruntime"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _run(
    argv: list[str], *, log: Path | None = None, env: dict[str, str] | None = None, cwd: Path | None = None
) -> None:
    out = log.open("ab") if log is not None else subprocess.DEVNULL
    try:
        result = subprocess.run(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT if log else subprocess.PIPE,
            env=env,
            cwd=cwd,
            check=False,
        )
    finally:
        if log is not None and not isinstance(out, int):
            out.close()
    if result.returncode != 0:
        tail = (
            log.read_text(errors="replace")[-3000:]
            if log is not None
            else (result.stderr or b"").decode(errors="replace")
        )
        raise BuildError(f"{' '.join(argv[:3])}... failed (exit {result.returncode}):\n{tail}")


# --- sources -------------------------------------------------------------------------------------------
def _apt_options(cache: Path) -> list[str]:
    apt = cache / "apt"
    return [
        "-o", f"Dir::Etc::SourceList={apt / 'sources.list'}",
        "-o", f"Dir::Etc::SourceParts={apt / 'sources.list.d'}",
        "-o", f"Dir::State::Lists={apt / 'lists'}",
        "-o", f"Dir::Cache={apt / 'cache'}",
        "-o", "APT::Sandbox::User=root" if os.geteuid() == 0 else "Debug::NoLocking=0",
        "-o", "Acquire::Retries=3",
    ]  # fmt: skip


def _write_apt_config(cache: Path) -> None:
    apt = cache / "apt"
    for sub in ("lists/partial", "cache/archives/partial", "sources.list.d"):
        (apt / sub).mkdir(parents=True, exist_ok=True)
    lines = [
        f"deb-src [signed-by={pins.DEBIAN_KEYRING}] {pins.DEBIAN_MIRROR} {suite} main"
        for suite in pins.DEBIAN_SUITES
    ]
    (apt / "sources.list").write_text("\n".join(lines) + "\n", encoding="utf-8")


def fetch_sources(cache: Path, progress: Progress) -> dict[str, Path]:
    """The pinned tarballs, fetched with ``apt-get source --download-only`` when missing, sha256-checked."""
    src = cache / "src"
    src.mkdir(parents=True, exist_ok=True)
    missing = [pin for pin in pins.SOURCES if not (src / pin.tarball).is_file()]
    if missing:
        if shutil.which("apt-get") is None:
            raise BuildError("fetching the sources needs apt-get (a Debian or Ubuntu machine)")
        _write_apt_config(cache)
        progress("apt-get update (deb-src, private configuration)")
        log = cache / "apt" / "apt.log"
        _run(["apt-get", *_apt_options(cache), "update"], log=log)
        specs = [f"{pin.package}={pin.version}" for pin in missing]
        progress(f"apt-get source {' '.join(specs)}")
        _run(["apt-get", *_apt_options(cache), "source", "--download-only", *specs], log=log, cwd=src)
    tarballs: dict[str, Path] = {}
    for step, pin in _PINS.items():
        path = src / pin.tarball
        actual = _sha256(path)
        if actual != pin.sha256:
            raise BuildError(f"{path}: sha256 {actual}, pinned {pin.sha256} (docs/layer.md, bumping a pin)")
        tarballs[step] = path
    return tarballs


# --- toolchain -----------------------------------------------------------------------------------------
def ensure_zig(cache: Path, progress: Progress) -> Path:
    """The pinned Zig, installed from PyPI with pip --require-hashes into the cache."""
    target = cache / "toolchain" / f"ziglang-{pins.ZIG_VERSION}"
    zig = target / "ziglang" / "zig"
    if zig.is_file():
        return zig
    host = platform.machine()
    digest = pins.ZIG_WHEEL_SHA256.get(host)
    if digest is None:
        raise BuildError(f"no pinned ziglang wheel for a {host} build machine (pins.ZIG_WHEEL_SHA256)")
    requirements = cache / "toolchain" / "requirements.txt"
    requirements.parent.mkdir(parents=True, exist_ok=True)
    requirements.write_text(f"ziglang=={pins.ZIG_VERSION} --hash=sha256:{digest}\n", encoding="utf-8")
    progress(f"pip install ziglang=={pins.ZIG_VERSION}")
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    _run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--only-binary=:all:", "--require-hashes", "--target", str(tmp), "-r", str(requirements)],
        log=cache / "toolchain" / "pip.log",
    )  # fmt: skip
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return zig


def _tool_wrappers(zig: Path, arch: pins.Arch, bin_dir: Path) -> dict[str, str]:
    """cc/ar/ranlib scripts for autoconf/make (they want one executable each, not ``zig cc -target``)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    tools = {
        "cc": f'exec "{zig}" cc -target {arch.cpu}-linux-gnu.{pins.GLIBC_TARGET} "$@"',
        "ar": f'exec "{zig}" ar "$@"',
        "ranlib": f'exec "{zig}" ranlib "$@"',
    }
    paths = {}
    for name, body in tools.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        path.chmod(0o755)
        paths[name.upper()] = str(path)
    return paths


# --- the build -----------------------------------------------------------------------------------------
def build_python_for_build() -> str:
    """A host python3.11: a cross-build of CPython freezes its bootstrap modules with the same version."""
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    found = shutil.which("python3.11")
    if found is None:
        raise BuildError(
            "building the bundled CPython 3.11 needs a python3.11 on PATH (apt-get install python3.11)"
        )
    return found


def _step_key(step: str, arch: pins.Arch, previous: str) -> str:
    digest = hashlib.sha256(previous.encode())
    digest.update((HERE / f"{step}.sh").read_bytes())
    pin = _PINS[step]
    recipe = f"{pin.package} {pin.version} {pin.sha256} zig {pins.ZIG_VERSION} {arch.cpu} {pins.GLIBC_TARGET}"
    digest.update(recipe.encode())
    return digest.hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _extract(tarball: Path, pin: pins.SourcePin, dest: Path) -> Path:
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    scratch = dest.with_name(dest.name + ".unpack")
    shutil.rmtree(scratch, ignore_errors=True)
    with tarfile.open(tarball) as archive:
        if hasattr(tarfile, "data_filter"):
            archive.extractall(scratch, filter="data")
        else:  # Python < 3.10.12; the tarball's sha256 matched its pin just before
            archive.extractall(scratch)  # noqa: S202
    (scratch / pin.directory).rename(dest)
    shutil.rmtree(scratch, ignore_errors=True)
    return dest


def _keys(arch: pins.Arch) -> dict[str, str]:
    keys: dict[str, str] = {}
    previous = ""
    for step in STEPS:
        previous = keys[step] = _step_key(step, arch, previous)
    return keys


def cached(arch_name: str) -> BuiltPython | None:
    """The interpreter for ``arch_name`` if the cache holds one built from the current recipe, else None."""
    arch = pins.ARCHES[arch_name]
    dist = BuiltPython(arch.lambda_name, cache_dir() / "build" / arch.lambda_name / "dist")
    stamp = dist.root.parent / "cpython.done"
    if stamp.is_file() and stamp.read_text() == _keys(arch)["cpython"] and dist.executable.is_file():
        return dist
    return None


def build_python(arch_name: str, *, progress: Progress | None = None, jobs: int | None = None) -> BuiltPython:
    """Build (or find cached) the bundled CPython for ``arch_name`` (``x86_64`` or ``arm64``)."""
    say = progress or (lambda _msg: None)
    arch = pins.ARCHES[arch_name]
    cache = cache_dir()
    work = cache / "build" / arch.lambda_name
    dist = BuiltPython(arch.lambda_name, work / "dist")
    with _locked(cache / "build" / f"{arch.lambda_name}.lock"):
        keys = _keys(arch)
        if cached(arch_name) is not None:
            return dist
        tarballs = fetch_sources(cache, say)
        zig = ensure_zig(cache, say)
        env = dict(os.environ)
        env.update(_tool_wrappers(zig, arch, work / "toolbin"))
        env.update(
            ZIG_GLOBAL_CACHE_DIR=str(cache / "zig-cache"),
            ZIG_LOCAL_CACHE_DIR=str(cache / "zig-cache"),
            PREFIX=str(work / "prefix"),
            OUT=str(dist.root),
            JOBS=str(jobs or int(os.environ.get("JOBS", "2"))),
            OPENSSL_TARGET=arch.openssl_target,
            HOST_TRIPLE=f"{arch.cpu}-linux-gnu",
            BUILD_PYTHON=build_python_for_build(),
        )
        for step in STEPS:
            step_stamp = work / f"{step}.done"
            if step_stamp.is_file() and step_stamp.read_text() == keys[step]:
                continue
            step_stamp.unlink(missing_ok=True)
            start = time.monotonic()
            say(f"{arch.lambda_name}: building {step} (log: {work / (step + '.log')})")
            source = _extract(tarballs[step], _PINS[step], work / step)
            log = work / f"{step}.log"
            log.write_bytes(b"")
            env["SRC"] = str(source)
            nice = ["nice", "-n", "10"] if shutil.which("nice") else []
            _run([*nice, "sh", str(HERE / f"{step}.sh")], log=log, env=env)
            step_stamp.write_text(keys[step])
            say(f"{arch.lambda_name}: {step} built in {time.monotonic() - start:.0f} s")
        return dist
