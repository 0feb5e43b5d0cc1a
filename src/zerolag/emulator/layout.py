"""The sandbox's file system: code at ``/var/task``, layers merged at ``/opt``, the runtime at
``/var/runtime`` and ``/var/lang``, a private ``/tmp`` and an ``/etc/hosts`` where
``sandbox.localdomain``/``sandbox`` are loopback, all bind-mounted read-only in a private mount
namespace (``unshare -m``).

Fallback when namespaces are not available (not root, no ``unshare``): the same tree under a temp dir, with
``LAMBDA_TASK_ROOT`` and the bootstrap pointing at it (documented in docs/emulator.md).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from zerolag import lambda_wire as wire
from zerolag.emulator import foreign_runtime, runtime_files

log = logging.getLogger(__name__)

SEEN = {"task": "/var/task", "opt": "/opt", "runtime": "/var/runtime", "lang": "/var/lang", "tmp": "/tmp"}  # noqa: S108
MOUNT_SCRIPT = """set -e
for d in /var/task /var/runtime /var/lang /opt; do mkdir -p "$d"; done
for pair in "$@"; do
  src="${pair%%=*}"; dst="${pair#*=}"
  mount --bind "$src" "$dst"
  case "$dst" in /tmp|/etc/hosts) ;; *) mount -o remount,bind,ro "$dst" ;; esac
done
echo ready
read -r _
"""


@dataclass
class Layout:
    """Host paths of the sandbox tree and the paths its processes see."""

    root: Path
    task: Path
    opt: Path
    runtime: Path
    lang: Path
    tmp: Path
    namespaced: bool
    holder: subprocess.Popen[bytes] | None = None
    python_hidden: bool = False  # a runtime without Python: the host's are masked (foreign_runtime.py)

    def seen(self, name: str) -> str:
        """The path of ``task``/``opt``/``runtime``/``lang``/``tmp`` as the sandbox's processes see it."""
        if self.namespaced:
            return SEEN[name]
        return str(getattr(self, name))

    def ns_path(self) -> str | None:
        return f"/proc/{self.holder.pid}/ns/mnt" if self.holder is not None else None

    def close(self) -> None:
        if self.holder is not None:
            if self.holder.stdin is not None:
                self.holder.stdin.close()
            try:
                self.holder.wait(5)
            except subprocess.TimeoutExpired:
                self.holder.kill()
                self.holder.wait()
            self.holder = None
        shutil.rmtree(self.root, ignore_errors=True)


def _unpack(source: Path, into: Path) -> Path:
    """A dir as it is, a zip extracted into ``into``."""
    if source.is_dir():
        return source
    if zipfile.is_zipfile(source):
        into.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(source) as zf:
            for info in zf.infolist():
                zf.extract(info, into)
                mode = info.external_attr >> 16
                if mode & 0o111:
                    (into / info.filename).chmod(mode & 0o777)
        return into
    raise ValueError(f"not a directory or zip: {source}")


def _merge_layers(layers: list[Path], root: Path) -> Path:
    """Layers in order, later ones overwriting earlier files, as Lambda does."""
    opt = root / "opt"
    opt.mkdir()
    for i, layer in enumerate(layers):
        src = _unpack(layer, root / f"layer{i}")
        shutil.copytree(src, opt, symlinks=True, dirs_exist_ok=True)
    return opt


def namespaces_available() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None and shutil.which("mount") is not None


def build(
    code: Path,
    layers: list[Path],
    runtime_pkgs: Path,
    *,
    namespace: bool | None = None,
    runtime: str = "python3.11",
) -> Layout:
    """Lay the tree out; enter a private mount namespace when possible (``namespace=None``: auto)."""
    python = foreign_runtime.kind(runtime) == foreign_runtime.PYTHON
    root = Path(tempfile.mkdtemp(prefix="zerolag-sandbox-"))
    try:
        task = _unpack(code, root / "task")
        use_ns = namespaces_available() if namespace is None else namespace
        layout = Layout(
            root=root,
            task=task,
            opt=_merge_layers(layers, root),
            runtime=root / "runtime",
            lang=root / "lang",
            tmp=root / "tmp",
            namespaced=use_ns,
        )
        for d in (layout.tmp, layout.runtime, layout.lang):
            d.mkdir()
        layout.tmp.chmod(0o1777)
        if python:
            runtime_files.build_lang(layout.lang, runtime_pkgs, link=not use_ns)
        else:
            foreign_runtime.build_lang(layout.lang, runtime)
        if use_ns:
            try:
                _enter_namespace(layout, runtime_pkgs if python else None)
            except OSError as exc:
                log.warning("no private mount namespace, using the fallback layout: %s", exc)
                layout.namespaced = False
                if python:
                    runtime_files.link_site_packages(layout.lang, runtime_pkgs)
        if python:
            runtime_files.build_runtime(
                layout.runtime, layout.seen("lang"), layout.seen("runtime"), layout.seen("opt")
            )
        else:
            if not layout.namespaced:
                log.warning("runtime %s without a mount namespace: the host's Python stays visible", runtime)
            foreign_runtime.build_runtime(
                layout.runtime,
                runtime,
                task=layout.seen("task"),
                runtime_seen=layout.seen("runtime"),
                lang=layout.seen("lang"),
                opt=layout.seen("opt"),
            )
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return layout


def _hosts_file(root: Path) -> Path:
    hosts = root / "hosts"
    try:
        base = Path("/etc/hosts").read_text(encoding="utf-8")
    except OSError:
        base = "127.0.0.1\tlocalhost\n"
    hosts.write_text(base.rstrip("\n") + "\n127.0.0.1\t" + " ".join(wire.SANDBOX_HOSTNAMES) + "\n", "utf-8")
    return hosts


def _enter_namespace(layout: Layout, runtime_pkgs: Path | None) -> None:
    """``runtime_pkgs``: the Python runtime's packages; None for a runtime without Python, whose sandbox
    sees no host Python at all (foreign_runtime.py)."""
    pairs = [
        f"{layout.task}=/var/task",
        f"{layout.opt}=/opt",
        f"{layout.runtime}=/var/runtime",
        f"{layout.lang}=/var/lang",
    ]
    if runtime_pkgs is not None:
        site = runtime_files.site_packages(Path(SEEN["lang"]))
        pairs.append(
            f"{runtime_pkgs.resolve()}={site}"
        )  # after /var/lang: mounted on its empty site-packages
    else:
        files, dirs = foreign_runtime.host_python_paths()
        empty = layout.root / "empty"
        empty.mkdir()
        pairs += [f"/dev/null={path}" for path in files] + [f"{empty}={path}" for path in dirs]
    pairs += [f"{_hosts_file(layout.root)}=/etc/hosts", f"{layout.tmp}=/tmp"]
    holder = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", MOUNT_SCRIPT, "zerolag-ns", *pairs],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert holder.stdout is not None
    line = holder.stdout.readline()
    if line.strip() != b"ready":
        holder.kill()
        holder.wait()
        err = holder.stderr.read().decode(errors="replace") if holder.stderr else ""
        raise OSError(f"could not set up the sandbox mount namespace: {err.strip()}")
    layout.holder = holder
    layout.python_hidden = runtime_pkgs is None
