"""Which runtime a sandbox runs (docs/emulator.md, "Runtimes"): a small table of Lambda runtime names, the
installed interpreter behind a ``python3.X`` one, and the awslambdaric that interpreter runs.

``python3.X`` picks an installed CPython of exactly that version (the emulator's own first, then
``python3.X`` on ``PATH``, ``/usr/bin``, ``/usr/local/bin`` and pyenv's versions) or fails with
``RuntimeNotAvailable`` naming what was tried. Its awslambdaric + boto3 (the runtime dir) is, in order:
``$ZEROLAG_LAMBDA_RUNTIME_DIR``, ``<repo>/.venv/lambda-runtime`` when built for that version, else a
per-version cache installed on demand with that interpreter's own pip
(``$XDG_CACHE_HOME/zerolag/lambda-runtime/python3.X``), as Lambda's managed runtime ships its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import glob
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from zerolag.emulator.runtime_files import Interpreter, current_interpreter, default_runtime_dir

AWSLAMBDARIC = "awslambdaric==4.2.2"  # the same pin as the Makefile's runtime dir
RUNTIME_PACKAGES = (AWSLAMBDARIC, "boto3")
QUERY_TIMEOUT_S = 15.0
INSTALL_TIMEOUT_S = 600.0
QUERY = (
    "import json, os, sys, sysconfig; print(json.dumps({'version': '%d.%d' % sys.version_info[:2], "
    "'executable': os.path.realpath(getattr(sys, '_base_executable', None) or sys.executable), "
    "'prefix': os.path.realpath(sys.base_prefix), 'libdir': sysconfig.get_config_var('LIBDIR'), "
    "'implementation': sys.implementation.name}))"
)


class RuntimeNotAvailable(ValueError):
    """The runtime is unknown, or no installed interpreter / runtime dir can serve it."""


@dataclass(frozen=True)
class Runtime:
    """One entry of the runtime table."""

    name: str  # as Lambda spells it: "python3.12", "nodejs20.x", "provided.al2023"
    # "python" (managed, awslambdaric inside) | "nodejs" (managed, the Node.js runtime client of
    # foreign_runtime.py) | "provided" (a bootstrap of the function's own)
    family: str
    version: str | None = None  # "3.12" for python

    @property
    def managed(self) -> bool:
        return self.family != "provided"

    @property
    def has_python(self) -> bool:
        """Whether the sandbox has a Python: the python runtimes and the bare ``provided`` (the runtime's
        ``/var/lang``); nodejs* and provided.al2* have none, as Lambda's images (foreign_runtime.py)."""
        return self.family == "python" or self.name == "provided"


PROVIDED = ("provided", "provided.al2", "provided.al2023")
NODEJS = ("nodejs18.x", "nodejs20.x", "nodejs22.x")
PYTHON_NAME = re.compile(r"^python3\.(\d{1,2})$")
MIN_PYTHON_MINOR = 10


def parse(name: str) -> Runtime:
    """The table's entry for ``name``; ``RuntimeNotAvailable`` for a name Lambda (or we) do not know."""
    if name in PROVIDED:
        return Runtime(name, "provided")
    if name in NODEJS:
        return Runtime(name, "nodejs")
    match = PYTHON_NAME.match(name)
    if match and int(match.group(1)) >= MIN_PYTHON_MINOR:
        return Runtime(name, "python", f"3.{match.group(1)}")
    known = ", ".join([f"python3.{MIN_PYTHON_MINOR}+ (python3.10, python3.11, ...)", *NODEJS, *PROVIDED])
    raise RuntimeNotAvailable(f"unknown runtime {name!r}; known: {known}")


def default_runtime() -> str:
    """The runtime that matches the emulator's own interpreter."""
    return current_interpreter().runtime


def _candidates(version: str) -> list[str]:
    name = f"python{version}"
    found: list[str] = []
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        path = os.path.join(directory, name)
        if os.access(path, os.X_OK):
            found.append(path)
    found += [f"/usr/bin/{name}", f"/usr/local/bin/{name}"]
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found += sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/{name}"), reverse=True)
    return list(dict.fromkeys(p for p in found if os.access(p, os.X_OK)))


def _query(executable: str) -> dict[str, str] | None:
    try:
        done = subprocess.run(
            [executable, "-I", "-S", "-c", QUERY],
            capture_output=True,
            text=True,
            timeout=QUERY_TIMEOUT_S,
            check=False,
        )
        answer = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    return answer if isinstance(answer, dict) else None


@functools.cache
def find_interpreter(version: str) -> Interpreter:
    """An installed CPython ``version`` ("3.12"); ``RuntimeNotAvailable`` naming what was tried."""
    own = current_interpreter()
    if own.version == version:
        return own
    tried = []
    for candidate in _candidates(version):
        info = _query(candidate)
        tried.append(candidate)
        if info is None or info.get("version") != version or info.get("implementation") != "cpython":
            continue
        prefix = Path(info["prefix"])
        libdir = info.get("libdir")
        rel = os.path.relpath(os.path.realpath(libdir), prefix) if libdir else None
        return Interpreter(
            version, Path(info["executable"]), prefix, None if rel and rel.startswith("..") else rel
        )
    raise RuntimeNotAvailable(
        f"runtime python{version}: no CPython {version} installed (tried {', '.join(tried) or 'nothing'}); "
        f"install python{version} or pick --runtime python{own.version}"
    )


def _built_for(runtime_dir: Path, version: str) -> bool:
    """Whether ``runtime_dir``'s awslambdaric was installed for CPython ``version``."""
    tag = "cpython-" + version.replace(".", "")
    return any(
        p.name.startswith("runtime_client.") and tag in p.name for p in runtime_dir.glob("runtime_client.*")
    )


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "zerolag" / "lambda-runtime"


def runtime_dir(interpreter: Interpreter) -> Path:
    """awslambdaric + boto3 for ``interpreter`` (see the module's docstring for the order)."""
    env = os.environ.get("ZEROLAG_LAMBDA_RUNTIME_DIR")
    if env:
        return Path(env)
    default = default_runtime_dir()
    if _built_for(default, interpreter.version) or (
        interpreter == current_interpreter() and default.name != "lambda-runtime"
    ):
        return default
    return _cached_runtime_dir(interpreter)


def _cached_runtime_dir(interpreter: Interpreter) -> Path:
    """The per-version cache, installed once with the interpreter's pip (a lock keeps parallel sandboxes and
    test workers from installing it twice; the install lands under a temporary name, then is renamed)."""
    target = cache_root() / interpreter.runtime
    if _built_for(target, interpreter.version):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{interpreter.runtime}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _built_for(target, interpreter.version):
            return target
        staging = target.parent / f".{interpreter.runtime}.staging"
        shutil.rmtree(staging, ignore_errors=True)
        argv = [str(interpreter.executable), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        argv += ["--target", str(staging), "--only-binary=:all:", *RUNTIME_PACKAGES]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RuntimeNotAvailable(
                f"{interpreter.runtime}: could not install awslambdaric: {exc}"
            ) from exc
        if done.returncode != 0 or not _built_for(staging, interpreter.version):
            shutil.rmtree(staging, ignore_errors=True)
            why = (done.stderr or done.stdout).strip()[-500:]
            raise RuntimeNotAvailable(
                f"{interpreter.runtime}: could not install awslambdaric with {argv[0]}: {why}"
            )
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(target)
        staging.rename(target)
    return target


def resolve(name: str, explicit_dir: Path | None = None) -> tuple[Runtime, Interpreter | None, Path | None]:
    """The runtime entry, its interpreter and its runtime dir (None for ``nodejs*`` and ``provided*``)."""
    runtime = parse(name)
    if runtime.version is None:
        return runtime, None, None
    interpreter = find_interpreter(runtime.version)
    return runtime, interpreter, explicit_dir or runtime_dir(interpreter)
