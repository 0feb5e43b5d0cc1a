"""What shipping .pyc in the layer saves at cold start (``zerolag layer build --compile``).

Lambda's ``/opt`` is read-only, so without .pyc files in the layer every cold start compiles every module
it imports from source. This builds the layer twice (source only, and with unchecked-hash .pyc for this
interpreter) and times, in fresh processes, importing everything each side of the layer ships:

- ``extension``: every module under ``zerolag/lib`` (PYTHONPATH = that dir only, as the launcher sets it);
- ``agent``: every module under ``python/`` (what the function's sys.path gets from the layer).

``python -c pass`` is measured alongside and subtracted. Also measured: what the ``extensions/zerolag``
launcher (sh, finding python3) adds to starting the extension's process, against ``python -m`` directly
(both run a stub ``zerolag.extension`` that exits at once), and the zip sizes.

Run: ``.venv/bin/python benchmarks/bench_layer.py [--rounds 15]``. Prints a table and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from zerolag.layer.build import build_layer_tree, zip_tree


def modules_under(lib: Path) -> list[str]:
    names = []
    for path in sorted(lib.rglob("*.py")):
        parts = path.relative_to(lib).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def time_imports(lib: Path | None, modules: list[str], rounds: int) -> float:
    """Median wall time (ms) of a fresh interpreter importing ``modules`` with PYTHONPATH=lib."""
    # A module that needs Lambda at import (the wrapper's handler) is still loaded and compiled.
    code = "".join(f"try:\n    import {m}\nexcept Exception:\n    pass\n" for m in modules) or "pass\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if lib is not None:
        env["PYTHONPATH"] = str(lib)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd="/")
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def launcher_overhead(tree: Path, tmp: Path, rounds: int) -> float:
    """Median ms the launcher adds over running the extension's entry point directly (stub module)."""
    import shutil

    stub = tmp / "stub"
    shutil.copytree(tree, stub)
    main = stub / "zerolag" / "lib" / "zerolag" / "extension" / "__main__.py"
    main.write_text("def main():\n    return 0\n")
    for stale in main.parent.glob("__pycache__/__main__.*.pyc"):  # unchecked-hash: it would still be used
        stale.unlink()
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    python = bin_dir / f"python3.{sys.version_info[1]}"
    python.symlink_to(sys.executable)
    env = {"PATH": str(bin_dir), "PYTHONPATH": str(stub / "zerolag" / "lib"), "PYTHONDONTWRITEBYTECODE": "1"}
    entry = "import sys; from zerolag.extension.__main__ import main; sys.exit(main())"
    direct = [str(python), "-S", "-c", entry]  # what the launcher execs, minus the launcher
    launcher = [str(stub / "extensions" / "zerolag")]
    times: dict[str, list[float]] = {"direct": [], "launcher": []}
    for _ in range(rounds):
        for name, argv in (("direct", direct), ("launcher", launcher)):
            start = time.perf_counter()
            subprocess.run(argv, env=env, check=True, cwd="/")
            times[name].append((time.perf_counter() - start) * 1000)
    return statistics.median(times["launcher"]) - statistics.median(times["direct"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as tmp:
        trees = {
            "source": build_layer_tree(Path(tmp) / "source"),
            "pyc": build_layer_tree(Path(tmp) / "pyc", compile_with=sys.executable),
        }
        sizes = {
            name: zip_tree(tree, Path(tmp) / f"{name}.zip").stat().st_size for name, tree in trees.items()
        }
        empty = time_imports(None, [], rounds)
        results: dict[str, dict[str, float]] = {}
        for side, sub in (("extension", "zerolag/lib"), ("agent", "python")):
            modules = modules_under(trees["source"] / sub)
            results[side] = {
                name: time_imports(tree / sub, modules, rounds) - empty for name, tree in trees.items()
            }
            results[side]["modules"] = len(modules)
        overhead = launcher_overhead(trees["pyc"], Path(tmp), rounds)
    print(f"Importing everything the layer ships, fresh process, median of {rounds} (minus `python -c pass`)")
    print(f"{'side':<10}{'modules':>8}{'source only':>14}{'with .pyc':>12}{'saved':>10}")
    for side, row in results.items():
        saved = row["source"] - row["pyc"]
        print(
            f"{side:<10}{row['modules']:>8.0f}{row['source']:>11.1f} ms{row['pyc']:>9.1f} ms{saved:>7.1f} ms"
        )
    print(f"launcher (sh, finds python3.1x on PATH) adds {overhead:.1f} ms to starting the extension")
    print(f"zip size: source only {sizes['source'] / 1024:.0f} KiB, with .pyc {sizes['pyc'] / 1024:.0f} KiB")
    print(
        json.dumps(
            {
                "bench": "layer",
                "rounds": rounds,
                "results": results,
                "zip_bytes": sizes,
                "launcher_ms": overhead,
            }
        )
    )


if __name__ == "__main__":
    main()
