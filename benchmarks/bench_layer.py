"""What shipping .pyc in the layer saves at cold start (``zerolag layer build --compile``).

Lambda's ``/opt`` is read-only, so without .pyc files in the layer every cold start compiles every module
it imports from source. This builds the layer twice (source only, and with unchecked-hash .pyc for this
interpreter) and times, in fresh processes, importing everything each side of the layer ships:

- ``extension``: every module under ``zerolag/lib`` (PYTHONPATH = that dir only, as the launcher sets it);
- ``agent``: every module under ``python/`` (what the function's sys.path gets from the layer).

``python -c pass`` is measured alongside and subtracted. Also measured: what the ``extensions/zerolag``
launcher (sh, finding python3) adds to starting the extension's process, against ``python -m`` directly
(both run a stub ``zerolag.extension`` that exits at once), and the zip sizes.

Then the any-runtime layer (docs/layer.md) against the Python-runtime layer: zip sizes per architecture, and,
for each, the extension started by its launcher against a local Extensions API (a real HTTP server on
loopback): start -> ``register`` received, start -> first ``event/next`` (init done), and the process's RSS
while it waits in ``event/next``. The Python-runtime layer runs on this machine's python3.11 (the function's
Python, found on PATH); the any-runtime layer with no Python on PATH, so on its bundled interpreter.
``--no-any`` skips this part (it needs the interpreter built: ``make layer-any``).

Run: ``.venv/bin/python benchmarks/bench_layer.py [--rounds 15] [--no-any]``. Prints tables and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

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


class _ExtensionsApi(ThreadingHTTPServer):
    """Register -> 200 with an id; telemetry/logs subscribe -> 200; event/next is held until ``release``,
    then SHUTDOWN. Records when register and the first event/next arrived."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ApiHandler)
        self.registered = threading.Event()
        self.waiting = threading.Event()
        self.release = threading.Event()
        self.times: dict[str, float] = {}

    def reset(self) -> None:
        for event in (self.registered, self.waiting, self.release):
            event.clear()
        self.times.clear()


class _ApiHandler(BaseHTTPRequestHandler):
    server: _ExtensionsApi
    protocol_version = "HTTP/1.1"

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        now = time.perf_counter()
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/extension/register"):
            self.server.times.setdefault("register", now)
            self.server.registered.set()
            info = {"functionName": "bench", "functionVersion": "$LATEST", "handler": "index.handler"}
            self._reply(200, json.dumps(info).encode(), {"Lambda-Extension-Identifier": "bench-id"})
        else:
            self._reply(202, b"{}")

    def do_PUT(self) -> None:  # Telemetry/Logs API subscription
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._reply(200, b"OK")

    def do_GET(self) -> None:
        if self.path.endswith("/extension/event/next"):
            self.server.times.setdefault("next", time.perf_counter())
            self.server.waiting.set()
            self.server.release.wait(30)
            event = {
                "eventType": "SHUTDOWN",
                "shutdownReason": "spindown",
                "deadlineMs": int(time.time() * 1000) + 2000,
            }
            self._reply(200, json.dumps(event).encode(), {"Lambda-Extension-Event-Identifier": "e"})
        else:
            self._reply(404, b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _extract(zip_path: Path, dest: Path) -> Path:
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            archive.extract(info, dest)
            if (info.external_attr >> 16) & 0o111:
                (dest / info.filename).chmod(0o755)
    return dest


def _start_once(layer: Path, env: dict[str, str], api: _ExtensionsApi) -> tuple[float, float, int]:
    """One start of the extension from ``layer``: ms to register, ms to event/next, RSS (KiB) there."""
    api.reset()
    with tempfile.TemporaryDirectory() as spool:
        run_env = {**env, "ZEROLAG_EXTENSION_PORT": str(_free_port()), "ZEROLAG_SPOOL_DIR": spool}
        start = time.perf_counter()
        proc = subprocess.Popen([str(layer / "extensions" / "zerolag")], env=run_env, cwd="/",
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        ok = api.waiting.wait(30)
        sample = (0.0, 0.0, 0)
        if ok:
            rss = _rss_kib(proc.pid)
            sample = ((api.times["register"] - start) * 1000, (api.times["next"] - start) * 1000, rss)
        api.release.set()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if not ok:
        raise RuntimeError(f"the extension from {layer} never reached event/next")
    return sample


def start_up(
    layers: dict[str, tuple[Path, list[Path]]], api: _ExtensionsApi, rounds: int
) -> dict[str, dict[str, float]]:
    """Per layer (its tree and the PATH dirs it sees): median ms to register and to reach event/next, and
    median RSS (KiB) waiting there. Rounds alternate between the layers, so load drifts hit both alike."""
    env = {
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_REGION": "us-east-1",
        "ZEROLAG_OTLP_ENDPOINT": "http://127.0.0.1:9",
        "ZEROLAG_THUNDRA_PORT": "0",
    }
    samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in layers}
    for round_ in range(rounds + 1):  # round 0 warms the page cache and is dropped
        for name, (layer, path_dirs) in layers.items():
            sample = _start_once(layer, {**env, "PATH": ":".join(str(d) for d in path_dirs)}, api)
            if round_:
                samples[name].append(sample)
    return {
        name: {
            "register_ms": statistics.median(s[0] for s in rows),
            "ready_ms": statistics.median(s[1] for s in rows),
            "rss_kib": statistics.median(s[2] for s in rows),
        }
        for name, rows in samples.items()
    }


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def any_runtime(rounds: int, tmp: Path) -> dict[str, Any] | None:
    """Sizes and start-up of the any-runtime layer against the Python-runtime layer (this machine's arch)."""
    from zerolag.layer.anyruntime.build_python import cached
    from zerolag.layer.anyruntime.layer import build_any_layer

    host = {"aarch64": "arm64"}.get(platform.machine(), platform.machine())
    if cached(host) is None:
        print("any-runtime layer: interpreter not built yet (make layer-any); skipped", file=sys.stderr)
        return None
    arches = [arch for arch in ("x86_64", "arm64") if cached(arch) is not None]
    zips = build_any_layer(tmp / "any", arches=arches)
    python_zip = zip_tree(build_layer_tree(tmp / "py-tree", compile_with=sys.executable), tmp / "py.zip")
    sizes = {"python-runtime": python_zip.stat().st_size} | {
        f"any-runtime {path.stem.rsplit('-', 1)[-1]}": path.stat().st_size for path in zips
    }
    host_zip = next(path for path in zips if path.stem.endswith(host))
    python_layer = _extract(python_zip, tmp / "py-layer")
    any_layer = _extract(host_zip, tmp / "any-layer")
    py_bin = tmp / "py-bin"  # the function's python3.11, as a runtime's PATH has it
    py_bin.mkdir()
    (py_bin / f"python3.{sys.version_info[1]}").symlink_to(os.path.realpath(sys.executable))
    sh_bin = tmp / "sh-bin"  # no Python at all, as on a Node.js runtime
    sh_bin.mkdir()
    for tool in ("sh", "bash"):
        found = shutil.which(tool)
        if found:
            (sh_bin / tool).symlink_to(found)
    api = _ExtensionsApi()
    threading.Thread(target=api.serve_forever, daemon=True).start()
    try:
        results = start_up(
            {"python-runtime": (python_layer, [py_bin, sh_bin]), "any-runtime": (any_layer, [sh_bin])},
            api,
            rounds,
        )
    finally:
        api.shutdown()
        api.server_close()
    return {"zip_bytes": sizes, "start_up": results}


def print_any_runtime(report: dict[str, Any], rounds: int) -> None:
    print()
    print("Any-runtime layer against the Python-runtime layer (zip sizes; extension start-up, median of "
          f"{rounds})")  # fmt: skip
    for name, size in report["zip_bytes"].items():
        print(f"  {name:<22}{size / 2**20:>8.2f} MiB")
    print(f"{'layer':<18}{'start->register':>17}{'start->event/next':>19}{'idle RSS':>11}")
    for name, row in report["start_up"].items():
        rss_mib = row["rss_kib"] / 1024
        print(f"{name:<18}{row['register_ms']:>14.1f} ms{row['ready_ms']:>16.1f} ms{rss_mib:>7.1f} MiB")
    rows = report["start_up"]
    delta = rows["any-runtime"]["register_ms"] - rows["python-runtime"]["register_ms"]
    rss = (rows["any-runtime"]["rss_kib"] - rows["python-runtime"]["rss_kib"]) / 1024
    print(f"any-runtime - python-runtime: register {delta:+.1f} ms (budget +5 ms), idle RSS {rss:+.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--no-any", action="store_true", help="skip the any-runtime layer's figures")
    args = parser.parse_args()
    rounds = args.rounds
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
        any_report = None if args.no_any else any_runtime(rounds, Path(tmp))
    print(f"Importing everything the layer ships, fresh process, median of {rounds} (minus `python -c pass`)")
    print(f"{'side':<10}{'modules':>8}{'source only':>14}{'with .pyc':>12}{'saved':>10}")
    for side, row in results.items():
        saved = row["source"] - row["pyc"]
        print(
            f"{side:<10}{row['modules']:>8.0f}{row['source']:>11.1f} ms{row['pyc']:>9.1f} ms{saved:>7.1f} ms"
        )
    print(f"launcher (sh, finds python3.1x on PATH) adds {overhead:.1f} ms to starting the extension")
    print(f"zip size: source only {sizes['source'] / 1024:.0f} KiB, with .pyc {sizes['pyc'] / 1024:.0f} KiB")
    if any_report is not None:
        print_any_runtime(any_report, rounds)
    print(
        json.dumps(
            {
                "bench": "layer",
                "rounds": rounds,
                "results": results,
                "zip_bytes": sizes,
                "launcher_ms": overhead,
                "any_runtime": any_report,
            }
        )
    )


if __name__ == "__main__":
    main()
