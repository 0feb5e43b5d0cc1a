"""Build the zerolag Lambda layer from the installed source tree.

Layout (docs/INTERFACES.md, "Layer layout")::

    extensions/zerolag          executable launcher (finds the runtime's python3, else reports init/error)
    zerolag/lib/zerolag/...     the package subset for the extension only (not on the function's sys.path)
    python/zerolag/...          the agent and wrapper subset for the function (/opt/python is on sys.path)
    zerolag-wrapper             AWS_LAMBDA_EXEC_WRAPPER script

The zip is deterministic: sorted entries, a fixed timestamp and explicit Unix permissions, so two builds
of the same source are byte-identical. With ``compile_with`` the package is also byte-compiled for that
interpreter's version (unchecked-hash .pyc, valid on Lambda's read-only ``/opt`` whatever the file times).
"""

from __future__ import annotations

import shutil
import stat
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import zerolag

PACKAGE_ROOT = Path(zerolag.__file__).resolve().parent
LAUNCHER_SOURCE = Path(__file__).resolve().parent / "extension-launcher.sh"

# What each side of the layer needs from the package: the modules of zerolag itself and its subpackages.
EXTENSION_PARTS: tuple[str, ...] = ("__init__.py", "extension", "lambda_wire", "otlp")
AGENT_PARTS: tuple[str, ...] = ("__init__.py", "agent", "wrapper", "lambda_wire", "otlp")

EXTENSION_LIB = Path("zerolag") / "lib"
AGENT_LIB = Path("python")
LAUNCHER = Path("extensions") / "zerolag"
WRAPPER = Path("zerolag-wrapper")
WRAPPER_SOURCE = Path("wrapper") / "zerolag-wrapper"

# Never shipped, whatever a subpackage holds.
_SKIP_DIRS = frozenset({"__pycache__", "tests", ".mypy_cache", ".pytest_cache"})
_SKIP_SUFFIXES = (".pyc", ".pyo", ".orig", ".rej", "~")

ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_MODE_EXEC = 0o755
_MODE_FILE = 0o644


class LayerBuildError(RuntimeError):
    """The layer cannot be built (e.g. a required source file is missing)."""


def _iter_sources(part: Path) -> Iterator[Path]:
    if part.is_file():
        yield part
        return
    for path in sorted(part.rglob("*")):
        relative = path.relative_to(part)
        if any(piece in _SKIP_DIRS for piece in relative.parts) or path.name.endswith(_SKIP_SUFFIXES):
            continue
        if path.is_file():
            yield path


def _copy_parts(parts: Iterable[str], source_root: Path, dest: Path) -> None:
    for name in parts:
        part = source_root / name
        if not part.exists():
            # Built from whatever is there: a component not written yet is simply absent from the layer.
            continue
        for path in _iter_sources(part):
            target = dest / path.relative_to(source_root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            target.chmod(_MODE_EXEC if path.stat().st_mode & stat.S_IXUSR else _MODE_FILE)


def _install_executable(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(_MODE_EXEC)


def compile_tree(tree: Path, python: str) -> None:
    """Byte-compile the layer's packages with ``python`` (unchecked-hash .pyc in ``__pycache__``).

    The .pyc name carries the interpreter's tag (``cpython-311``), so they help only a runtime of the same
    version; ``ddir`` makes tracebacks show the paths the files have under ``/opt``.
    """
    for lib in (EXTENSION_LIB, AGENT_LIB):
        target = tree / lib
        if not target.is_dir():
            continue
        argv = [python, "-m", "compileall", "-q", "-j", "1", "--invalidation-mode", "unchecked-hash"]
        argv += ["-d", f"/opt/{lib.as_posix()}", str(target)]
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise LayerBuildError(
                f"byte-compiling {lib} with {python} failed: {result.stdout}{result.stderr}"
            )


Pythons = str | Sequence[str] | None


def _pythons(compile_with: Pythons) -> list[str]:
    if compile_with is None:
        return []
    return [compile_with] if isinstance(compile_with, str) else list(compile_with)


def build_layer_tree(dest_dir: Path | str, *, compile_with: Pythons = None) -> Path:
    """Write the layer's files under ``dest_dir`` (created; must be empty or absent) and return it.

    ``compile_with``: one interpreter or several (e.g. python3.11 and python3.12); each adds its own .pyc
    (the file names carry the version tag, so they sit side by side in ``__pycache__``).
    """
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise LayerBuildError(f"{dest} is not empty")
    _install_executable(LAUNCHER_SOURCE, dest / LAUNCHER)
    _copy_parts(EXTENSION_PARTS, PACKAGE_ROOT, dest / EXTENSION_LIB / "zerolag")
    _copy_parts(AGENT_PARTS, PACKAGE_ROOT, dest / AGENT_LIB / "zerolag")
    wrapper = PACKAGE_ROOT / WRAPPER_SOURCE
    if wrapper.is_file():
        _install_executable(wrapper, dest / WRAPPER)
    for python in _pythons(compile_with):
        compile_tree(dest, python)
    return dest


def _zip_info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
    info.create_system = 3  # Unix, so external_attr carries the permission bits
    info.external_attr = mode << 16
    if name.endswith("/"):
        info.external_attr |= 0x10  # MS-DOS directory flag
    else:
        info.compress_type = zipfile.ZIP_DEFLATED
    return info


def zip_tree(tree: Path, out_zip: Path) -> Path:
    """Zip ``tree`` into ``out_zip`` deterministically, keeping 0755 on executables."""
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_zip.with_name(out_zip.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(tree.rglob("*")):
            name = path.relative_to(tree).as_posix()
            if path.is_dir():
                archive.writestr(_zip_info(name + "/", stat.S_IFDIR | _MODE_EXEC), b"")
                continue
            executable = path.stat().st_mode & stat.S_IXUSR
            mode = stat.S_IFREG | (_MODE_EXEC if executable else _MODE_FILE)
            archive.writestr(_zip_info(name, mode), path.read_bytes())
    tmp.replace(out_zip)
    return out_zip


def build_layer(out_zip: Path | str, *, compile_with: Pythons = None) -> Path:
    """Build the layer zip at ``out_zip`` and return its path."""
    with tempfile.TemporaryDirectory(prefix="zerolag-layer-") as tmp:
        tree = build_layer_tree(Path(tmp) / "layer", compile_with=compile_with)
        return zip_tree(tree, Path(out_zip))
