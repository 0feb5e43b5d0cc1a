"""The Python managed runtime, rebuilt: ``/var/runtime/bootstrap`` (the exec-wrapper logic of the python3.11
image, contract section 4), ``bootstrap.py`` (sys.path, then the real awslambdaric) and ``/var/lang`` (a
venv-style interpreter home whose site-packages is the runtime dir: stdlib + awslambdaric + boto3 only)."""

from __future__ import annotations

import os
import sys
import sysconfig
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


def base_python() -> Path:
    """The real interpreter behind this (maybe venv) Python: the function runs on it."""
    exe = getattr(sys, "_base_executable", None) or sys.executable
    return Path(os.path.realpath(exe))


def python_version() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def site_packages(lang: Path) -> Path:
    """Where the runtime dir appears inside ``lang``."""
    return lang / "lib" / f"python{python_version()}" / "site-packages"


def link_site_packages(lang: Path, runtime_pkgs: Path) -> None:
    """Make ``lang``'s site-packages a symlink to the runtime dir (the layout without a mount namespace).

    In a mount namespace it is a bind mount instead: a symlink would point at a host path that the sandbox's
    private ``/tmp`` may hide (a checkout under ``/tmp``)."""
    target = site_packages(lang)
    if target.is_dir() and not target.is_symlink():
        target.rmdir()
    target.symlink_to(runtime_pkgs.resolve())


def build_lang(lang: Path, runtime_pkgs: Path, *, link: bool = True) -> None:
    """A venv-style ``/var/lang``: ``bin/python3.X`` and ``bin/python3`` link to the real interpreter;
    ``pyvenv.cfg`` keeps the dev venv's and the system's site-packages out; site-packages = the runtime dir
    (a symlink with ``link``, else an empty mount point for a bind mount of it).
    """
    ver = python_version()
    real = base_python()
    (lang / "bin").mkdir(parents=True, exist_ok=True)
    for name in (f"python{ver}", "python3", "python"):
        (lang / "bin" / name).symlink_to(real)
    (lang / "pyvenv.cfg").write_text(
        f"home = {real.parent}\ninclude-system-site-packages = false\nversion = {ver}\n", encoding="utf-8"
    )
    site_packages(lang).mkdir(parents=True, exist_ok=True)
    if link:
        link_site_packages(lang, runtime_pkgs)


def build_runtime(runtime: Path, lang_in_sandbox: str, runtime_in_sandbox: str, opt_in_sandbox: str) -> None:
    """``bootstrap`` and ``bootstrap.py`` with the paths the processes will see."""
    ver = python_version()
    sh = BOOTSTRAP_SH.format(ver=ver, lang=lang_in_sandbox, runtime=runtime_in_sandbox)
    (runtime / "bootstrap").write_text(sh, encoding="utf-8")
    (runtime / "bootstrap").chmod(0o755)
    (runtime / "bootstrap.py").write_text(BOOTSTRAP_PY.format(opt=opt_in_sandbox), encoding="utf-8")
