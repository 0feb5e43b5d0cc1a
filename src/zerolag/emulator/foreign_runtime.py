"""Runtimes without a Python (docs/emulator.md, "Runtimes without Python"): ``nodejs20.x`` (the host's node
at ``/var/lang/bin/node`` and a Node.js runtime client at ``/var/runtime``) and ``provided.al2023`` /
``provided.al2`` (a ``bootstrap`` in ``/var/task`` or ``/opt``).

Lambda's images for these runtimes have no Python 3 an extension could borrow, so in the mount namespace
every host ``python*`` executable on the sandbox's ``PATH`` is masked (bound over by ``/dev/null``, which is
not executable) and the host's Python library dirs are masked by an empty directory. An extension that
needs Python must bring its own, as the any-runtime layer does (docs/layer.md).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

NODE_CLIENT = Path(__file__).resolve().parent / "node-runtime.js"
NODEJS = "nodejs"

# Where a host Python could be found from inside the sandbox: the sandbox's PATH dirs (docs/emulator.md)
# and the usual library prefixes.
_BIN_DIRS = ("/usr/local/bin", "/usr/bin", "/bin")
_LIB_GLOBS = ("/usr/lib/python3*", "/usr/local/lib/python3*", "/usr/lib64/python3*")

NODE_BOOTSTRAP = """#!/bin/sh
# Like the {name} image's /var/runtime/bootstrap.
export AWS_EXECUTION_ENV=AWS_Lambda_{name}
NODE_PATH="{opt}/nodejs/node{major}/node_modules:{opt}/nodejs/node_modules"
export NODE_PATH="$NODE_PATH:{runtime}/node_modules:{runtime}:{task}"
if [ -n "$AWS_LAMBDA_EXEC_WRAPPER" ]; then
  exec -- "$AWS_LAMBDA_EXEC_WRAPPER" {lang}/bin/node {runtime}/index.js
fi
exec {lang}/bin/node {runtime}/index.js
"""


def host_node() -> Path:
    node = shutil.which("node")
    if node is None:
        raise FileNotFoundError("the nodejs runtimes need Node.js on the host (node on PATH)")
    return Path(os.path.realpath(node))


def build_lang(lang: Path, runtime: str, *, mount_point: bool = False) -> Path | None:
    """``/var/lang`` of a Node.js runtime: ``bin/node``, the host's (a symlink, or with ``mount_point`` an
    empty file for a bind mount of it: in the sandbox's minimal root the host's node may be out of reach);
    empty for the custom runtimes. Returns the host's node for the bind mount (None: nothing to mount)."""
    if not runtime.startswith(NODEJS):
        return None
    node = host_node()
    (lang / "bin").mkdir(parents=True, exist_ok=True)
    if mount_point:
        (lang / "bin" / "node").touch(mode=0o755)
        return node
    (lang / "bin" / "node").symlink_to(node)
    return None


def build_runtime(
    runtime_dir: Path, runtime: str, *, task: str, runtime_seen: str, lang: str, opt: str
) -> None:
    """``/var/runtime`` of a Node.js runtime: its bootstrap and the runtime client (nothing for provided)."""
    if not runtime.startswith(NODEJS):
        return
    major = "".join(ch for ch in runtime.removeprefix(NODEJS).split(".")[0] if ch.isdigit())
    script = NODE_BOOTSTRAP.format(
        name=runtime, major=major, opt=opt, runtime=runtime_seen, task=task, lang=lang
    )
    (runtime_dir / "bootstrap").write_text(script, encoding="utf-8")
    (runtime_dir / "bootstrap").chmod(0o755)
    shutil.copyfile(NODE_CLIENT, runtime_dir / "index.js")


def host_python_paths() -> tuple[list[str], list[str]]:
    """(executables, library dirs) of every host Python the sandbox could otherwise find, real paths,
    each once (``/usr/bin/python3`` is a symlink to ``python3.11``: masking the target masks both)."""
    files: dict[str, None] = {}
    for bin_dir in _BIN_DIRS:
        try:
            names = sorted(os.listdir(bin_dir))
        except OSError:
            continue
        for name in names:
            if not name.startswith("python"):
                continue
            real = os.path.realpath(os.path.join(bin_dir, name))
            if os.path.isfile(real) and os.access(real, os.X_OK):
                files[real] = None
    dirs: dict[str, None] = {}
    for pattern in _LIB_GLOBS:
        for match in sorted(Path("/").glob(pattern.lstrip("/"))):
            real = os.path.realpath(match)
            if os.path.isdir(real):
                dirs[real] = None
    return list(files), list(dirs)
