"""The sandbox's file system and namespaces (docs/emulator.md, "Isolation").

Code at ``/var/task``, layers merged at ``/opt``, the runtime at ``/var/runtime`` and ``/var/lang``, all
bind-mounted read-only (nosuid, nodev); ``/tmp`` a size-capped tmpfs (the ephemeral storage); ``/etc/hosts``
where ``sandbox.localdomain``/``sandbox`` are loopback and ``/etc/passwd``/``/etc/group`` that know Lambda's
``sbx_user1051``. All of it lives in a minimal root (the host's OS dirs read-only, nothing else of the host)
in a private mount namespace inside a private PID namespace whose ``/proc`` shows only the sandbox:
``unshare -m -p -f``, ``mount -a`` of one fstab, ``pivot_root``; its init a small ``bash`` that holds both
namespaces and exits (taking every sandbox process with it) when the emulator closes its stdin or dies.
A runtime without Python (nodejs*, provided.al2*: foreign_runtime.py) gets no Python at ``/var/lang`` and the
same fstab masks every host Python under the minimal root's read-only ``/usr`` and ``/lib*``.

Fallbacks: the host's root when ``pivot_root`` fails; a mount namespace without the PID namespace when that
fails; without root or ``unshare`` the same tree under a temp dir, with ``LAMBDA_TASK_ROOT`` and the
bootstrap pointing at it.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import stat
import subprocess
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from zerolag import lambda_wire as wire
from zerolag.emulator import deployment_zip, ephemeral_storage, foreign_runtime, runtime_files

log = logging.getLogger(__name__)

SEEN = {"task": "/var/task", "opt": "/opt", "runtime": "/var/runtime", "lang": "/var/lang", "tmp": "/tmp"}  # noqa: S108
SANDBOX_UID = 993  # Lambda's sbx_user1051
SANDBOX_GID = 990
SANDBOX_USER = "sbx_user1051"
PASSWD_LINE = f"{SANDBOX_USER}:x:{SANDBOX_UID}:{SANDBOX_GID}::/tmp:/sbin/nologin"
DEFAULT_EPHEMERAL_MB = 512  # Lambda's default /tmp size (--ephemeral-storage)
# $1: an fstab of read-only binds, /proc and the /tmp tmpfs, mounted by one `mount -a` (one process: every
# exec costs cold start); $2: the new root to pivot into (empty: stay on the host's root). Run by bash, the
# init (pid 1) of the sandbox's PID namespace: bash reaps the orphans it inherits and its `read` survives
# their SIGCHLD (dash's does not), so it exits only when its stdin closes.
MOUNT_SCRIPT = """set -e
mount -a -T "$1"
if [ -n "$2" ]; then
  cd "$2"
  pivot_root . .oldroot
  umount -l /.oldroot
  rmdir /.oldroot
  cd /
fi
echo ready
read -r _ || true
"""
BIND_OPTIONS = "bind,ro,nosuid,nodev,X-mount.mkdir"  # util-linux binds, then remounts read-only


def _fstab_path(path: str) -> str:
    """A path as fstab(5) spells it: space, tab, newline and backslash as octal escapes."""
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in path)


HOST_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc")  # the OS the runtime needs
HOST_SPECIAL = {"dev": "bind,nosuid,noexec", "sys": "bind,ro,nosuid,nodev,noexec"}
Mount = tuple[str, str, str]  # (host path, where, options)


def fstab(
    binds: list[Mount], *, tmp: str, tmp_mb: int, proc: str | None, tmp_image: Path | None = None
) -> str:
    """The sandbox's mounts, in order: the binds, a fresh ``proc`` (when given), then ``tmp``: the ext4
    ``tmp_image`` on a loop device, else a tmpfs of ``tmp_mb``."""
    lines = [f"{_fstab_path(src)} {_fstab_path(dst)} none {options} 0 0" for src, dst, options in binds]
    if proc is not None:
        lines.append(f"proc {_fstab_path(proc)} proc nosuid,nodev,noexec 0 0")
    if tmp_image is not None:
        lines.append(f"{_fstab_path(str(tmp_image))} {_fstab_path(tmp)} ext4 loop,nosuid,nodev,noatime 0 0")
    else:
        lines.append(f"tmpfs {_fstab_path(tmp)} tmpfs size={max(1, tmp_mb)}m,mode=1777,nosuid,nodev 0 0")
    return "\n".join(lines) + "\n"


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
    pid_namespace: bool = False
    tmp_disk: bool = False  # /tmp is a disk (ext4 on a loop device), not a tmpfs
    python_hidden: bool = False  # a runtime without Python: the host's are masked (foreign_runtime.py)

    def seen(self, name: str) -> str:
        """The path of ``task``/``opt``/``runtime``/``lang``/``tmp`` as the sandbox's processes see it."""
        if self.namespaced:
            return SEEN[name]
        return str(getattr(self, name))

    def ns_path(self) -> str | None:
        return f"/proc/{self.holder.pid}/ns/mnt" if self.holder is not None else None

    def pidns_path(self) -> str | None:
        """The PID namespace new sandbox processes are born in (None: the host's)."""
        if self.holder is None or not self.pid_namespace:
            return None
        return f"/proc/{self.holder.pid}/ns/pid_for_children"

    def user(self) -> tuple[int, int] | None:
        """(uid, gid) the sandbox's processes run as; None (the emulator's own user) in the fallback layout,
        whose files are the caller's own."""
        return (SANDBOX_UID, SANDBOX_GID) if self.namespaced and os.geteuid() == 0 else None

    def close(self) -> None:
        """End the namespaces (their init exits when its stdin closes, and every process and mount of the
        sandbox with it), then remove the tree. The removal runs in the background: each former mount point
        costs the kernel a grace period, and nobody waits for that; interpreter exit waits (bounded)."""
        holder, self.holder = self.holder, None
        if holder is not None and holder.stdin is not None:
            holder.stdin.close()
        thread = threading.Thread(target=_remove, args=(holder, self.root), name="zerolag-layout-close")
        thread.start()
        _PENDING[:] = [t for t in _PENDING if t.is_alive()]
        _PENDING.append(thread)


_PENDING: list[threading.Thread] = []
CLOSE_WAIT_S = 10.0


def _remove(holder: subprocess.Popen[bytes] | None, root: Path) -> None:
    if holder is not None:
        try:
            holder.wait(5)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait()
    shutil.rmtree(root, ignore_errors=True)


@atexit.register
def wait_for_closes(timeout: float = CLOSE_WAIT_S) -> None:
    """Wait (bounded) until every closed layout is removed."""
    deadline = time.monotonic() + timeout
    while _PENDING:
        _PENDING.pop().join(max(0.0, deadline - time.monotonic()))


def _unpack(source: Path, into: Path, mount_point: str) -> Path:
    """A dir as it is, a zip extracted into ``into`` (refused when an entry could leave it)."""
    if source.is_dir():
        return source
    if zipfile.is_zipfile(source):
        deployment_zip.extract(source, into, mount_point=mount_point)
        return into
    raise ValueError(f"not a directory or zip: {source}")


def _merge_layers(layers: list[Path], root: Path) -> Path:
    """Layers in order, later ones overwriting earlier files, as Lambda does."""
    opt = root / "opt"
    opt.mkdir()
    for i, layer in enumerate(layers):
        src = _unpack(layer, root / f"layer{i}", SEEN["opt"])
        deployment_zip.merge_tree(src, opt)
    return opt


def namespaces_available() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None and shutil.which("mount") is not None


def build(
    code: Path,
    layers: list[Path],
    runtime_pkgs: Path,
    *,
    namespace: bool | None = None,
    ephemeral_mb: int = DEFAULT_EPHEMERAL_MB,
    interpreter: runtime_files.Interpreter | None = None,
    python: bool = True,
    runtime: str | None = None,
) -> Layout:
    """Lay the tree out; enter private namespaces when possible (``namespace=None``: auto); ``/tmp`` is
    capped at ``ephemeral_mb`` there. ``interpreter``: the Python at ``/var/lang`` (default: this one).
    ``python=False``: a runtime without Python (``runtime``: nodejs* or provided.al2*, foreign_runtime.py):
    ``/var/lang`` holds no Python and every host Python is masked in the sandbox."""
    py = interpreter or runtime_files.current_interpreter()
    name = runtime or py.runtime
    root = Path(tempfile.mkdtemp(prefix="zerolag-sandbox-"))
    try:
        task = _unpack(code, root / "task", SEEN["task"])
        if task == code and stat.S_IMODE(code.stat().st_mode) & 0o005 != 0o005:
            # /var/task is 0755 on Lambda whatever the zip holds; a code dir the sandbox user could not
            # enter (mkdtemp makes 0700 ones) is copied into one rather than chmod-ed.
            task = root / "task"
            task.mkdir(mode=0o755)
            deployment_zip.merge_tree(code, task)
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
        for d in (layout.tmp, layout.runtime):
            d.mkdir(mode=0o755)
        layout.tmp.chmod(0o1777)
        node: Path | None = None
        if use_ns:
            if python:
                runtime_files.build_lang(
                    layout.lang, runtime_pkgs, link=False, interpreter=py, lang_in_sandbox=SEEN["lang"]
                )
            else:
                layout.lang.mkdir(mode=0o755)
                node = foreign_runtime.build_lang(layout.lang, name, mount_point=True)
            try:
                _enter_namespace(layout, runtime_pkgs if python else None, ephemeral_mb, py, node)
            except OSError as exc:
                log.warning("no private namespaces, using the fallback layout: %s", exc)
                layout.namespaced = False
                shutil.rmtree(layout.lang)
        if not layout.namespaced:
            if python:
                runtime_files.build_lang(layout.lang, runtime_pkgs, link=True, interpreter=py)
            else:
                log.warning("runtime %s without a mount namespace: the host's Python stays visible", name)
                layout.lang.mkdir(mode=0o755)
                foreign_runtime.build_lang(layout.lang, name)
        if python:
            runtime_files.build_runtime(
                layout.runtime, layout.seen("lang"), layout.seen("runtime"), layout.seen("opt"), py.version
            )
        else:
            foreign_runtime.build_runtime(
                layout.runtime,
                name,
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


def _etc_file(root: Path, name: str, line: str) -> Path:
    """A copy of the host's ``/etc/<name>`` that also knows the sandbox user."""
    try:
        base = Path("/etc", name).read_text(encoding="utf-8")
    except OSError:
        base = ""
    path = root / name
    path.write_text(base.rstrip("\n") + "\n" + line + "\n", "utf-8")
    path.chmod(0o644)
    return path


def _host_root(newroot: Path) -> list[Mount]:
    """A minimal root for the sandbox: the host's OS directories (read-only), its /dev and /sys; symlinks
    such as a merged-/usr ``/bin -> usr/bin`` are copied as symlinks. Nothing else of the host (/home, /root,
    /work, /var, /run, ...) exists in it."""
    newroot.mkdir(mode=0o755)
    binds: list[Mount] = [(str(newroot), str(newroot), "bind")]  # pivot_root needs a mount point
    for name in (*HOST_DIRS, *HOST_SPECIAL):
        host = Path("/", name)
        if host.is_symlink():
            (newroot / name).symlink_to(os.readlink(host))
        elif host.is_dir():
            (newroot / name).mkdir(mode=0o755)
            binds.append((str(host), str(newroot / name), HOST_SPECIAL.get(name, BIND_OPTIONS)))
    for name in ("proc", "tmp", "opt", "var/task", "var/runtime", "var/lang", ".oldroot"):
        (newroot / name).mkdir(mode=0o755, parents=True)
    return binds


MASK_FILE_OPTIONS = "bind,ro,nosuid,nodev,noexec"  # /dev/null over an executable: neither runs nor reads


def _python_masks(root: Path) -> list[Mount]:
    """Binds that hide every host Python (foreign_runtime.host_python_paths): ``/dev/null`` over each
    executable, an empty read-only dir over each library dir."""
    files, dirs = foreign_runtime.host_python_paths()
    empty = root / "empty"
    empty.mkdir(mode=0o755, exist_ok=True)
    return [("/dev/null", path, MASK_FILE_OPTIONS) for path in files] + [
        (str(empty), path, BIND_OPTIONS + ",noexec") for path in dirs
    ]


def _in_host_root(path: str) -> bool:
    """Whether ``path`` (a real path) lies in a host dir the minimal root mounts."""
    top = Path(path).parts[1] if len(Path(path).parts) > 1 else ""
    return top in HOST_DIRS and Path("/", top).is_dir() and not Path("/", top).is_symlink()


def _enter_namespace(
    layout: Layout,
    runtime_pkgs: Path | None,
    ephemeral_mb: int,
    py: runtime_files.Interpreter,
    node: Path | None = None,
) -> None:
    """``runtime_pkgs``: the Python runtime's packages; None for a runtime without Python, whose sandbox sees
    no host Python at all (foreign_runtime.py); ``node``: the host's node, mounted at /var/lang/bin/node."""
    sandbox = [
        (str(layout.task), "/var/task"),
        (str(layout.opt), "/opt"),
        (str(layout.runtime), "/var/runtime"),
        (str(layout.lang), "/var/lang"),
    ]
    masks: list[Mount] = []
    if runtime_pkgs is not None:
        site = runtime_files.site_packages(Path(SEEN["lang"]), py.version)
        sandbox += [
            (str(py.prefix), f"{SEEN['lang']}/base"),  # the interpreter's installation, wherever it lives
            (str(runtime_pkgs.resolve()), str(site)),  # after /var/lang: mounted on its empty site-packages
        ]
    else:
        if node is not None:
            sandbox.append((str(node), f"{SEEN['lang']}/bin/node"))
        masks = _python_masks(layout.root)
    sandbox += [
        (str(_hosts_file(layout.root)), "/etc/hosts"),
        (str(_etc_file(layout.root, "passwd", PASSWD_LINE)), "/etc/passwd"),
        (str(_etc_file(layout.root, "group", f"{SANDBOX_USER}:x:{SANDBOX_GID}:")), "/etc/group"),
    ]
    if Path("/etc/resolv.conf").exists():  # a copy: on many hosts it is a symlink into /run
        sandbox.append((str(_etc_file(layout.root, "resolv.conf", "")), "/etc/resolv.conf"))
    newroot = layout.root / "rootfs"
    host = _host_root(newroot)
    image = ephemeral_storage.image_for(layout.root, max(1, ephemeral_mb))
    errors = []
    # Best first: a PID namespace (unshare forks: its child is the namespace's init; --kill-child ends it, and
    # so every sandbox process, if unshare dies) in a minimal root; then the host's root; then a mount
    # namespace alone, for kernels that refuse the rest.
    attempts = [(True, True, image), (True, True, None), (True, False, None), (False, False, None)]
    for pid_ns, pivot, tmp_image in attempts if image else attempts[1:]:
        prefix = str(newroot) if pivot else ""
        # the masks follow the host's dirs they cover (in the minimal root: its read-only /usr, /lib, ...)
        hidden = [(src, prefix + dst, opts) for src, dst, opts in masks if not pivot or _in_host_root(dst)]
        binds = (
            (host if pivot else [])
            + hidden
            + [(os.path.abspath(src), prefix + dst, BIND_OPTIONS) for src, dst in sandbox]
        )
        table = layout.root / f"fstab-{int(pid_ns)}{int(pivot)}{int(bool(tmp_image))}"
        proc = f"{prefix}/proc" if pid_ns and pivot else None  # unshare --mount-proc covers the host's
        mounts = fstab(binds, tmp=prefix + SEEN["tmp"], tmp_mb=ephemeral_mb, proc=proc, tmp_image=tmp_image)
        table.write_text(mounts, encoding="utf-8")
        flags = ["-p", "-f", "--kill-child", "--mount-proc"] if pid_ns else []
        argv = ["unshare", "-m", *flags, "--propagation", "private", "bash", "-c", MOUNT_SCRIPT]
        holder = subprocess.Popen(
            [*argv, "zerolag-ns", str(table), prefix],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert holder.stdout is not None
        line = holder.stdout.readline()
        if line.strip() == b"ready":
            layout.holder = holder
            layout.pid_namespace = pid_ns
            layout.tmp = Path(f"/proc/{holder.pid}/root/tmp")  # the sandbox's /tmp, as the host reaches it
            layout.tmp_disk = tmp_image is not None
            layout.python_hidden = runtime_pkgs is None
            if tmp_image is not None:
                ephemeral_storage.prepare_root(layout.tmp)
            return
        holder.kill()
        holder.wait()
        errors.append(holder.stderr.read().decode(errors="replace").strip() if holder.stderr else "")
        log.debug(
            "sandbox namespaces (pid=%s, pivot=%s, disk=%s) failed: %s", pid_ns, pivot, tmp_image, errors[-1]
        )
    raise OSError(f"could not set up the sandbox namespaces: {' / '.join(errors)}")
