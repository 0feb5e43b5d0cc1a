"""Write the bundled interpreter's ``lib/python3.11``: only the standard library the extension imports, as
sourceless .pyc files.

Run as a script by a host python3.11 (the bytecode must be 3.11's)::

    python3.11 -I -S stdlib_pyc.py LIB_DIR EXTENSION_LIB OUT_DIR

``LIB_DIR``: the built CPython's ``Lib``; ``EXTENSION_LIB``: the layer's ``zerolag/lib``. The module set is
(1) every standard-library module the extension's code names in an ``import`` anywhere (found by parsing it,
so imports inside functions count), (2) everything those import when imported (found by importing them
with ``LIB_DIR`` first on ``sys.path``), (3) modules the standard library loads lazily on paths the extension
takes: every codec of ``encodings`` (a peer may send any charset) and ``stringprep`` (IDNA host names for
TLS). Each is byte-compiled (unchecked-hash .pyc: no source to stat or compare) into ``OUT_DIR``; the
same input gives byte-identical files. A directory, not ``python311.zip``: measured here, importing the
extension took ~2 ms longer from a stored zip and ~3 ms from a deflated one than from a directory (the
layer zip compresses the files anyway).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import marshal
import sys
from pathlib import Path

LAZY = ("stringprep", "encodings.idna", "encodings.punycode")


def direct_imports(ext_lib: Path) -> set[str]:
    names: set[str] = set()
    for path in sorted(ext_lib.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    return {name for name in names if name.split(".")[0] != "zerolag"}


def _source(lib: Path, name: str) -> Path | None:
    base = lib.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def closure(lib: Path, names: set[str]) -> dict[str, Path]:
    """Every standard-library module that importing ``names`` (and the lazy ones) loads, by name, with its
    source under ``lib``. By name, not by ``__file__``: the modules this interpreter loaded at start-up
    (``os``, ``encodings``...) came from its own library, and the bundled interpreter needs them too."""
    sys.path[:0] = [str(lib)]
    for name in sorted(names | set(LAZY)):
        try:
            importlib.import_module(name)
        except ImportError:
            continue  # optional imports (e.g. a module the extension guards with try/except)
    found: dict[str, Path] = {}
    for name in sorted(sys.modules):
        source = _source(lib, name)
        if source is not None:
            found[name] = source
    for path in sorted((lib / "encodings").glob("*.py")):
        found[f"encodings.{path.stem}"] = path
    return found


def write_pyc(lib: Path, modules: dict[str, Path], out: Path) -> int:
    root = lib.resolve()
    entries = sorted({path.relative_to(root).with_suffix(".pyc"): path for path in modules.values()}.items())
    for name, path in entries:
        source = path.read_bytes()
        code = compile(source, f"<stdlib>/{name.with_suffix('.py').as_posix()}", "exec", dont_inherit=True)
        # PEP 552 unchecked-hash header: magic, flags=0b01 (hash-based, unchecked), 8-byte source hash.
        header = importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little") + importlib.util.source_hash(source)
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(header + marshal.dumps(code))
    return len(entries)


def main(argv: list[str]) -> int:
    if sys.version_info[:2] != (3, 11):
        print("stdlib_pyc.py must run on python3.11", file=sys.stderr)
        return 2
    lib, ext_lib, out = Path(argv[1]), Path(argv[2]), Path(argv[3])
    modules = closure(lib, direct_imports(ext_lib))
    count = write_pyc(lib, modules, out)
    print(f"{count} modules")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
