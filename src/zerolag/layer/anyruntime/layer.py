"""Assemble the any-runtime layer: the Python-runtime layer plus a bundled CPython (docs/layer.md).

One zip per architecture, ``zerolag-layer-any-<arch>.zip``::

    extensions/zerolag                   the same launcher: the function's Python where there is one, else
    zerolag/python/bin/python3.11        this interpreter (static OpenSSL/zlib, glibc 2.26 symbols at most)
    zerolag/python/lib/python3.11/       only the standard library the extension imports (stdlib_pyc.py)
    zerolag/lib/zerolag/...              the extension, byte-compiled for 3.11 (.py kept for other runtimes)
    python/zerolag/..., zerolag-wrapper  the agent and wrapper, as in the Python-runtime layer
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from zerolag.layer.anyruntime import pins
from zerolag.layer.anyruntime.build_python import (
    HERE,
    BuildError,
    BuiltPython,
    Progress,
    build_python,
    build_python_for_build,
)
from zerolag.layer.build import EXTENSION_LIB, build_layer_tree, zip_tree

BUNDLED = Path("zerolag") / "python"
BUNDLED_EXECUTABLE = BUNDLED / "bin" / f"python{pins.PYTHON_VERSION}"
BUNDLED_STDLIB = BUNDLED / "lib" / f"python{pins.PYTHON_VERSION}"
ZIP_BUDGET_BYTES = 12 * 1024 * 1024  # the budget per architecture


def zip_name(arch: str) -> str:
    return f"zerolag-layer-any-{arch}.zip"


def add_interpreter(tree: Path, built: BuiltPython, build_python_exe: str) -> None:
    """Put ``built`` and its trimmed standard library into the layer ``tree``."""
    exe = tree / BUNDLED_EXECUTABLE
    exe.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built.executable, exe)
    exe.chmod(0o755)
    stdlib = tree / BUNDLED_STDLIB
    stdlib.mkdir(parents=True, exist_ok=True)
    argv = [
        build_python_exe,
        "-I",
        "-S",
        str(HERE / "stdlib_pyc.py"),
        str(built.stdlib),
        str(tree / EXTENSION_LIB),
        str(stdlib),
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(f"writing the standard library failed: {result.stdout}{result.stderr}")


def build_any_layer(
    out_dir: Path | str,
    *,
    arches: Sequence[str] = tuple(pins.ARCHES),
    progress: Progress | None = None,
) -> list[Path]:
    """Build ``zerolag-layer-any-<arch>.zip`` in ``out_dir`` for each of ``arches``; return their paths.

    The interpreters come from ``build_python`` (cached: only the first build compiles anything).
    """
    out = Path(out_dir)
    host_python = build_python_for_build()
    zips = []
    for arch in arches:
        if arch not in pins.ARCHES:
            raise BuildError(f"unknown architecture {arch!r}: {', '.join(pins.ARCHES)}")
        built = build_python(arch, progress=progress)
        with tempfile.TemporaryDirectory(prefix=f"zerolag-layer-any-{arch}-") as tmp:
            tree = build_layer_tree(Path(tmp) / "layer", compile_with=host_python)
            add_interpreter(tree, built, host_python)
            zips.append(zip_tree(tree, out / zip_name(arch)))
    return zips
