"""The extension launcher (extensions/zerolag): the python it runs, its path, and its no-python error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PROBE = """
import json, os, sys
def main():
    print(json.dumps({"executable": sys.executable, "pythonpath": os.environ.get("PYTHONPATH"),
        "dont_write": os.environ.get("PYTHONDONTWRITEBYTECODE"), "argv": sys.argv[1:],
        "package": __import__("zerolag").__file__, "site": "site" in sys.modules,
        "runpy": "runpy" in sys.modules}))
    return 0
if __name__ == "__main__":
    sys.exit(main())
"""


@pytest.fixture
def probe_layer(tmp_path: Path, layer_tree: Path) -> Path:
    """A copy of the layer whose extension entry point prints what it was started with."""
    root = tmp_path / "mnt" / "opt"
    shutil.copytree(layer_tree, root)
    main = root / "zerolag" / "lib" / "zerolag" / "extension" / "__main__.py"
    main.parent.mkdir(parents=True, exist_ok=True)
    (main.parent / "__init__.py").touch()
    main.write_text(PROBE)
    return root


def _bin_dir(tmp_path: Path, **links: str) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, target in links.items():
        (bin_dir / name).symlink_to(target)
    return bin_dir


def test_launcher_runs_python_with_only_the_layer_lib_on_pythonpath(
    tmp_path: Path, probe_layer: Path
) -> None:
    """It execs python3 -S on the entry point with PYTHONPATH=<layer>/zerolag/lib, wherever the layer is."""
    if Path("/var/lang/bin/python3").exists():
        pytest.skip("a Lambda runtime interpreter exists here and takes precedence")
    bin_dir = _bin_dir(tmp_path, python3=sys.executable)
    env = {"PATH": str(bin_dir), "PYTHONPATH": "/function/own/path"}
    result = subprocess.run(
        ["/bin/sh", "extensions/zerolag", "--flag"],
        cwd=probe_layer,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    lib = probe_layer.resolve() / "zerolag" / "lib"
    assert seen["pythonpath"] == str(lib)
    assert seen["dont_write"] == "1"
    assert seen["argv"] == ["--flag"]
    assert seen["site"] is False  # -S: no site-packages, no .pth files at cold start
    assert seen["runpy"] is False  # -c, not -m: runpy costs cold-start milliseconds
    assert Path(seen["package"]).resolve() == lib / "zerolag" / "__init__.py"


def test_launcher_skips_a_python3_older_than_310(tmp_path: Path, probe_layer: Path) -> None:
    """A python3 on PATH that is too old is passed over for a python3.1x found next."""
    if Path("/var/lang/bin/python3").exists():
        pytest.skip("a Lambda runtime interpreter exists here and takes precedence")
    old = tmp_path / "old-python3"
    old.write_text("#!/bin/sh\nexit 1\n")  # answers the version probe like a Python 3.7 would: not usable
    old.chmod(0o755)
    bin_dir = _bin_dir(tmp_path, python3=str(old), **{"python3.11": sys.executable})
    result = subprocess.run(
        [str(probe_layer / "extensions" / "zerolag")],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["pythonpath"] == str(probe_layer.resolve() / "zerolag" / "lib")


def test_launcher_without_python_reports_init_error(
    tmp_path: Path, layer_tree: Path, extensions_api: Any
) -> None:
    """With no python3 at all, it registers, posts init/error (Extension.NoPython) and exits 1."""
    if Path("/var/lang/bin/python3").exists():
        pytest.skip("a Lambda runtime interpreter exists here")
    bash = shutil.which("bash")
    assert bash is not None
    bin_dir = _bin_dir(tmp_path, bash=bash)
    env = {"PATH": str(bin_dir), "AWS_LAMBDA_RUNTIME_API": extensions_api.address}
    result = subprocess.run(
        [str(layer_tree / "extensions" / "zerolag")], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "no Python 3.10+ interpreter found" in result.stderr
    assert [r.path for r in extensions_api.requests] == [
        "/2020-01-01/extension/register",
        "/2020-01-01/extension/init/error",
    ]
    register, init_error = extensions_api.requests
    assert register.headers["Lambda-Extension-Name"] == "zerolag"
    assert json.loads(register.body) == {"events": []}
    assert init_error.headers["Lambda-Extension-Identifier"] == "8b6fa1b8-2bd1-4c4b-9b0b-7d6a3a9d2a11"
    assert init_error.headers["Lambda-Extension-Function-Error-Type"] == "Extension.NoPython"
    body = json.loads(init_error.body)
    assert body["errorType"] == "Extension.NoPython"
    assert "no Python 3.10+" in body["errorMessage"]


def test_launcher_without_python_or_runtime_api_exits_nonzero(tmp_path: Path, layer_tree: Path) -> None:
    """Outside Lambda (no AWS_LAMBDA_RUNTIME_API) and with no python, it says why and exits 1 at once."""
    result = subprocess.run(
        [str(layer_tree / "extensions" / "zerolag")],
        env={"PATH": str(_bin_dir(tmp_path))},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "zerolag: no Python 3.10+ interpreter found" in result.stderr
    assert os.access(layer_tree / "extensions" / "zerolag", os.X_OK)


FAKE_BUNDLED = """#!/bin/sh
printf '{"bundled": true, "home": "%s", "pythonpath": "%s", "cert": "%s", "args": "%s"}\\n' \\
  "$PYTHONHOME" "$PYTHONPATH" "${SSL_CERT_FILE:-}" "$*"
"""


def _with_bundled(probe_layer: Path) -> Path:
    """The any-runtime layer's shape: a stand-in for zerolag/python/bin/python3.11 that reports its env."""
    exe = probe_layer / "zerolag" / "python" / "bin" / "python3.11"
    exe.parent.mkdir(parents=True)
    exe.write_text(FAKE_BUNDLED)
    exe.chmod(0o755)
    return exe


def test_launcher_uses_the_bundled_python_only_where_the_runtime_has_none(
    tmp_path: Path, probe_layer: Path
) -> None:
    """No python on PATH (a Node.js runtime): the bundled interpreter, with PYTHONHOME at the layer's copy;
    a python3 on PATH (a Python runtime): that one, the bundled one untouched."""
    if Path("/var/lang/bin/python3").exists():
        pytest.skip("a Lambda runtime interpreter exists here and takes precedence")
    _with_bundled(probe_layer)
    sh_only = _bin_dir(tmp_path, sh="/bin/sh")
    run = subprocess.run(
        ["/bin/sh", "extensions/zerolag"],
        cwd=probe_layer,
        env={"PATH": str(sh_only)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    root = probe_layer.resolve()
    assert seen["bundled"] is True
    assert seen["home"] == str(root / "zerolag" / "python")
    assert seen["pythonpath"] == str(root / "zerolag" / "lib")
    assert seen["args"].startswith("-S -c ")
    if not Path("/etc/pki/tls/cert.pem").exists() and Path("/etc/ssl/certs/ca-certificates.crt").is_file():
        assert seen["cert"] == "/etc/ssl/certs/ca-certificates.crt"

    with_python = tmp_path / "with-python"
    with_python.mkdir()
    (with_python / "python3").symlink_to(sys.executable)
    run = subprocess.run(
        ["/bin/sh", "extensions/zerolag"],
        cwd=probe_layer,
        env={"PATH": str(with_python)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert "bundled" not in seen
    assert Path(seen["executable"]).resolve() == Path(sys.executable).resolve()
