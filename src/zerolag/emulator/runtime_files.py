"""The Python managed runtime, rebuilt: ``/var/runtime/bootstrap`` (the exec-wrapper logic of the python3.11
image, contract section 4), ``bootstrap.py`` (sys.path, then the real awslambdaric) and ``/var/lang`` (a
venv-style interpreter home whose site-packages is the runtime dir: stdlib + awslambdaric + boto3 only)."""

from __future__ import annotations

import os
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

BOOTSTRAP_SH = """#!/bin/bash
# Like the python3.x image's /var/runtime/bootstrap (contract section 4).
export AWS_EXECUTION_ENV=AWS_Lambda_python{ver}
if [ -z "$AWS_LAMBDA_EXEC_WRAPPER" ]; then
  exec {lang}/bin/python{ver} {runtime}/bootstrap.py
fi
wrapper="$AWS_LAMBDA_EXEC_WRAPPER"
if [ ! -f "$wrapper" ]; then
  echo "$wrapper: does not exist"
  exit 127
fi
if [ ! -x "$wrapper" ]; then
  echo "$wrapper: is not executable"
  exit 126
fi
exec -- "$wrapper" {lang}/bin/python{ver} {runtime}/bootstrap.py
"""

BOOTSTRAP_PY = """import os
import sys

_task = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
_ver = "python%d.%d" % sys.version_info[:2]
sys.path[0:0] = [_task, "{opt}/python/lib/" + _ver + "/site-packages", "{opt}/python"]

from awslambdaric.__main__ import main  # noqa: E402

main([_task, os.environ["_HANDLER"]])
"""


def default_runtime_dir() -> Path:
    """``$ZEROLAG_LAMBDA_RUNTIME_DIR``, else ``<repo>/.venv/lambda-runtime``, else this interpreter's
    site-packages (documented in docs/emulator.md)."""
    env = os.environ.get("ZEROLAG_LAMBDA_RUNTIME_DIR")
    if env:
        return Path(env)
    repo_venv = Path(__file__).resolve().parents[3] / ".venv" / "lambda-runtime"
    if repo_venv.is_dir():
        return repo_venv
    return Path(sysconfig.get_paths()["purelib"])


@dataclass(frozen=True)
class Interpreter:
    """A real Python installation the function runs on (docs/emulator.md, "Runtimes")."""

    version: str  # "3.11"
    executable: Path  # the real binary, symlinks resolved
    prefix: Path  # its installation (sys.base_prefix), mounted read-only at /var/lang/base
    libdir: str | None  # where libpython lives, relative to ``prefix`` (None: not under it)

    @property
    def runtime(self) -> str:
        return f"python{self.version}"


def current_interpreter() -> Interpreter:
    """The interpreter running the emulator (not a venv: its base installation)."""
    exe = Path(os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable))
    prefix = Path(os.path.realpath(sys.base_prefix))
    return Interpreter(python_version(), exe, prefix, _relative(sysconfig.get_config_var("LIBDIR"), prefix))


def _relative(path: str | None, prefix: Path) -> str | None:
    if not path:
        return None
    rel = os.path.relpath(os.path.realpath(path), prefix)
    return None if rel.startswith("..") else rel


def base_python() -> Path:
    """The real interpreter behind this (maybe venv) Python: the function runs on it."""
    return current_interpreter().executable


def python_version() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def site_packages(lang: Path, version: str | None = None) -> Path:
    """Where the runtime dir appears inside ``lang``."""
    return lang / "lib" / f"python{version or python_version()}" / "site-packages"


def link_site_packages(lang: Path, runtime_pkgs: Path, version: str | None = None) -> None:
    """Make ``lang``'s site-packages a symlink to the runtime dir and ``lang/base`` one to the interpreter's
    installation (the layout without a mount namespace).

    In a mount namespace they are bind mounts instead: a symlink would point at a host path that the sandbox
    user may not reach (an interpreter under ``/root``) or that the private ``/tmp`` hides."""
    target = site_packages(lang, version)
    if target.is_dir() and not target.is_symlink():
        target.rmdir()
    target.symlink_to(runtime_pkgs.resolve())


def link_base(lang: Path, interpreter: Interpreter) -> None:
    base = lang / "base"
    if base.is_dir() and not base.is_symlink():
        base.rmdir()
    base.symlink_to(interpreter.prefix)


def build_lang(
    lang: Path,
    runtime_pkgs: Path,
    *,
    link: bool = True,
    interpreter: Interpreter | None = None,
    lang_in_sandbox: str | None = None,
) -> None:
    """A venv-style ``/var/lang``: ``bin/python3.X``, ``python3`` and ``python`` lead to the interpreter
    (mounted at ``base``), ``lib`` holds links to its libpython (``LD_LIBRARY_PATH`` starts there: an
    interpreter built with a shared libpython finds it even when its own RPATH is out of reach);
    ``pyvenv.cfg`` keeps the dev venv's and the system's site-packages out; site-packages = the runtime dir
    (a symlink with ``link``, else an empty mount point for a bind mount of it).
    """
    py = interpreter or current_interpreter()
    ver = py.version
    seen = lang_in_sandbox or str(lang)
    exe_rel = os.path.relpath(py.executable, py.prefix)
    (lang / "bin").mkdir(parents=True, exist_ok=True)
    (lang / "base").mkdir(exist_ok=True)
    for name in (f"python{ver}", "python3", "python"):
        (lang / "bin" / name).symlink_to(Path("..", "base", exe_rel))
    (lang / "pyvenv.cfg").write_text(
        f"home = {seen}/base/{Path(exe_rel).parent}\ninclude-system-site-packages = false\nversion = {ver}\n",
        encoding="utf-8",
    )
    site_packages(lang, ver).mkdir(parents=True, exist_ok=True)
    if py.libdir is not None:
        for lib in (py.prefix / py.libdir).glob("libpython3*.so*"):
            (lang / "lib" / lib.name).symlink_to(Path("..", "base", py.libdir, lib.name))
    for d in (lang, *lang.rglob("*")):
        if d.is_dir() and not d.is_symlink():
            d.chmod(0o755)
    if link:
        link_site_packages(lang, runtime_pkgs, ver)
        link_base(lang, py)


def build_runtime(
    runtime: Path,
    lang_in_sandbox: str,
    runtime_in_sandbox: str,
    opt_in_sandbox: str,
    version: str | None = None,
) -> None:
    """``bootstrap`` and ``bootstrap.py`` with the paths the processes will see."""
    ver = version or python_version()
    sh = BOOTSTRAP_SH.format(ver=ver, lang=lang_in_sandbox, runtime=runtime_in_sandbox)
    (runtime / "bootstrap").write_text(sh, encoding="utf-8")
    (runtime / "bootstrap").chmod(0o755)
    (runtime / "bootstrap.py").write_text(BOOTSTRAP_PY.format(opt=opt_in_sandbox), encoding="utf-8")
    (runtime / "bootstrap.py").chmod(0o644)
