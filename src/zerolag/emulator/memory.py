"""The sandbox's memory size, enforced as Lambda does, and its peak use measured for ``maxMemoryUsedMB``.

``MemoryGuard.create`` picks, in order: a cgroup v2 child with ``memory.max``, a cgroup v1 child with
``memory.limit_in_bytes`` (the kernel's OOM killer then kills inside the sandbox only), or, when no
memory cgroup is writable, an RSS watcher thread that SIGKILLs the sandbox's processes once their resident
memory passes the limit. The child cgroup is created under the emulator's own cgroup, so the host's limits
still apply.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import threading
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

MIB: Final = 1024 * 1024
PROC: Final = Path("/proc")
RSS_POLL_S: Final = 0.05


# --- pure helpers ---------------------------------------------------------------------------------------
def to_mb(size: int) -> int:
    """Bytes as whole MB, rounded up (Lambda reports integer MB)."""
    return -(-size // MIB)


def status_kib(status: str, key: str) -> int:
    """A ``kB`` field (VmRSS, VmHWM) of ``/proc/<pid>/status``; 0 when absent."""
    match = re.search(rf"^{key}:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) if match else 0


def counter(text: str, key: str) -> int:
    """A ``key value`` line of ``memory.oom_control`` / ``memory.events``; 0 when absent."""
    match = re.search(rf"^{key} (\d+)$", text, re.M)
    return int(match.group(1)) if match else 0


def own_cgroup(proc_cgroup: str, controller: str | None) -> str | None:
    """This process's cgroup path for a v1 ``controller`` (or v2 when None) from ``/proc/self/cgroup``."""
    for line in proc_cgroup.splitlines():
        hid, controllers, path = [*line.split(":", 2), "", ""][:3]
        if controller is None and hid == "0" and controllers == "":
            return path
        if controller is not None and controller in controllers.split(","):
            return path
    return None


def cgroup_mount(mounts: str, fstype: str, option: str | None) -> Path | None:
    """Mount point of a cgroup filesystem (``cgroup`` with ``option`` in its options, or ``cgroup2``)."""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] == fstype and (option is None or option in fields[3].split(",")):
            return Path(fields[1])
    return None


def _make_child(parent: Path, sandbox_id: str) -> Path:
    """Create a fresh child cgroup ``zerolag-<id>-<pid>[-n]``: never one another guard owns."""
    base = f"zerolag-{re.sub(r'[^A-Za-z0-9_.-]', '_', sandbox_id)}-{os.getpid()}"
    for n in range(100):
        path = parent / (base if n == 0 else f"{base}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"no free cgroup name under {parent} for {base}")


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def process_usage(pids: set[int]) -> int:
    """Bytes the processes hold: their summed RSS, or the largest single peak (VmHWM) if that is more."""
    rss = hwm = 0
    for pid in pids:
        status = _read(PROC / str(pid) / "status")
        rss += status_kib(status, "VmRSS") * 1024
        hwm = max(hwm, status_kib(status, "VmHWM") * 1024)
    return max(rss, hwm)


def clear_peaks(pids: set[int]) -> None:
    """Reset each process's VmHWM (``clear_refs`` 5)."""
    for pid in pids:
        with contextlib.suppress(OSError):
            (PROC / str(pid) / "clear_refs").write_text("5")


# --- the guards -----------------------------------------------------------------------------------------
class MemoryGuard:
    """Limit and measure the memory of one sandbox's processes. Use ``create``."""

    kind = "none"

    def __init__(self, limit_mb: int) -> None:
        self.limit_mb = limit_mb

    @classmethod
    def create(cls, sandbox_id: str, limit_mb: int, *, prefer: str = "auto") -> MemoryGuard:
        """The best guard the OS offers ("auto"), or the RSS watcher when ``prefer`` is "rss"."""
        if prefer != "rss":
            for make in (CgroupV2Guard.try_create, CgroupV1Guard.try_create):
                guard = make(sandbox_id, limit_mb)
                if guard is not None:
                    return guard
        return RssGuard(limit_mb)

    def add_pid(self, pid: int) -> None:
        """Put a process (and the children it will start) under the limit."""
        raise NotImplementedError

    def join_fd(self) -> int | None:
        """An fd a child writes its pid to before exec to join the limit (None when there is no cgroup).

        Memory a process allocated before joining stays charged outside the cgroup (cgroup v1 no longer
        moves charges), so children should join before exec rather than through ``add_pid`` afterwards.
        """
        return None

    def enter_self(self) -> None:
        """Add the calling process: usable as ``preexec_fn`` so a child is limited before it runs any code."""
        self.add_pid(os.getpid())

    def max_used_mb(self) -> int:
        """Peak real memory of the sandbox's processes since ``reset_peak``, in MB."""
        raise NotImplementedError

    def reset_peak(self) -> None:
        """Start a new measurement period (one invocation)."""
        raise NotImplementedError

    def oom_killed(self) -> bool:
        """Whether a sandbox process was killed for memory since ``reset_peak``."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the guard holds (cgroup directory, watcher thread). Idempotent."""


class _CgroupGuard(MemoryGuard):
    """Shared by v1 and v2: a directory of control files."""

    def __init__(self, path: Path, limit_mb: int) -> None:
        super().__init__(limit_mb)
        self.path = path
        self._closed = False
        self._join_fd: int | None = None

    def add_pid(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def join_fd(self) -> int | None:
        if self._join_fd is None and not self._closed:
            self._join_fd = os.open(self.path / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)
        return self._join_fd

    def _procs(self) -> set[int]:
        return {int(p) for p in _read(self.path / "cgroup.procs").split()}

    def _used(self, cgroup_bytes: int) -> int:
        """The cgroup's figure, or the processes' own if more (memory from before they joined)."""
        return to_mb(max(cgroup_bytes, process_usage(self._procs())))

    def _write(self, name: str, value: str) -> None:
        (self.path / name).write_text(value)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._join_fd is not None:
            os.close(self._join_fd)
            self._join_fd = None
        parent = self.path.parent / "cgroup.procs"
        for pid in _read(self.path / "cgroup.procs").split():
            with contextlib.suppress(OSError):
                parent.write_text(pid)
        try:
            self.path.rmdir()
        except OSError as exc:
            log.warning("could not remove cgroup %s: %s", self.path, exc)


class CgroupV1Guard(_CgroupGuard):
    """cgroup v1 memory controller: ``memory.limit_in_bytes`` (and memsw), max usage, oom_kill."""

    kind = "cgroup-v1"

    @classmethod
    def try_create(cls, sandbox_id: str, limit_mb: int) -> CgroupV1Guard | None:
        mount = cgroup_mount(_read(PROC / "mounts"), "cgroup", "memory")
        own = own_cgroup(_read(PROC / "self/cgroup"), "memory")
        if mount is None or own is None:
            return None
        try:
            path = _make_child(mount / own.lstrip("/"), sandbox_id)
        except OSError:
            return None
        try:
            guard = cls(path, limit_mb)
            guard._write("memory.limit_in_bytes", str(limit_mb * MIB))
            with contextlib.suppress(OSError):  # older kernels: a process added later brings its memory
                guard._write("memory.move_charge_at_immigrate", "3")
            if (path / "memory.memsw.limit_in_bytes").exists():
                guard._write("memory.memsw.limit_in_bytes", str(limit_mb * MIB))
            guard.reset_peak()
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
            return None
        return guard

    def __init__(self, path: Path, limit_mb: int) -> None:
        super().__init__(path, limit_mb)
        self._oom_base = 0

    def _oom_count(self) -> int:
        return counter(_read(self.path / "memory.oom_control"), "oom_kill")

    def max_used_mb(self) -> int:
        return self._used(int(_read(self.path / "memory.max_usage_in_bytes") or 0))

    def reset_peak(self) -> None:
        self._write("memory.max_usage_in_bytes", "0")
        clear_peaks(self._procs())
        self._oom_base = self._oom_count()

    def oom_killed(self) -> bool:
        return self._oom_count() > self._oom_base


class CgroupV2Guard(_CgroupGuard):
    """cgroup v2: ``memory.max`` (swap off), ``memory.peak`` reset through its own fd, ``memory.events``."""

    kind = "cgroup-v2"

    @classmethod
    def try_create(cls, sandbox_id: str, limit_mb: int) -> CgroupV2Guard | None:
        mount = cgroup_mount(_read(PROC / "mounts"), "cgroup2", None)
        own = own_cgroup(_read(PROC / "self/cgroup"), None)
        if mount is None or own is None:
            return None
        parent = mount / own.lstrip("/")
        if "memory" not in _read(parent / "cgroup.subtree_control").split():
            return None
        try:
            path = _make_child(parent, sandbox_id)
        except OSError:
            return None
        try:
            guard = cls(path, limit_mb)
            guard._write("memory.max", str(limit_mb * MIB))
            if (path / "memory.swap.max").exists():
                guard._write("memory.swap.max", "0")
            guard.reset_peak()
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
            return None
        return guard

    def __init__(self, path: Path, limit_mb: int) -> None:
        super().__init__(path, limit_mb)
        self._oom_base = 0
        self._peak_fd: int | None = None

    def _oom_count(self) -> int:
        return counter(_read(self.path / "memory.events"), "oom_kill")

    def max_used_mb(self) -> int:
        if self._peak_fd is not None:
            return self._used(int(os.pread(self._peak_fd, 64, 0) or b"0"))
        return self._used(int(_read(self.path / "memory.peak") or _read(self.path / "memory.current") or 0))

    def reset_peak(self) -> None:
        self._oom_base = self._oom_count()
        clear_peaks(self._procs())
        if self._peak_fd is None:
            with contextlib.suppress(OSError):
                self._peak_fd = os.open(self.path / "memory.peak", os.O_RDWR)
        if self._peak_fd is not None:
            try:
                os.write(self._peak_fd, b"reset\n")  # kernel >= 6.12: a per-fd peak
            except OSError:
                os.close(self._peak_fd)
                self._peak_fd = None

    def oom_killed(self) -> bool:
        return self._oom_count() > self._oom_base

    def close(self) -> None:
        if self._peak_fd is not None:
            os.close(self._peak_fd)
            self._peak_fd = None
        super().close()


class RssGuard(MemoryGuard):
    """No memory cgroup: a thread sums the resident memory of the sandbox's process tree and kills over it."""

    kind = "rss"

    def __init__(self, limit_mb: int, *, poll_s: float = RSS_POLL_S) -> None:
        super().__init__(limit_mb)
        self._roots: set[int] = set()
        self._lock = threading.Lock()
        self._peak = 0
        self._killed = False
        self._stop = threading.Event()
        self._poll_s = poll_s
        self._thread = threading.Thread(target=self._watch, name="memory-rss", daemon=True)
        self._thread.start()

    def add_pid(self, pid: int) -> None:
        with self._lock:
            self._roots.add(pid)

    def max_used_mb(self) -> int:
        self._sample()
        with self._lock:
            return to_mb(self._peak)

    def reset_peak(self) -> None:
        clear_peaks(self._tree())
        with self._lock:
            self._peak = 0
            self._killed = False

    def oom_killed(self) -> bool:
        with self._lock:
            return self._killed

    def close(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(5.0)

    def _watch(self) -> None:
        while not self._stop.wait(self._poll_s):
            self._sample()

    def _sample(self) -> None:
        pids = self._tree()
        used = process_usage(pids)
        with self._lock:
            self._peak = max(self._peak, used)
            over = used > self.limit_mb * MIB
            if over:
                self._killed = True
        if over:
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)

    def _tree(self) -> set[int]:
        """The live roots and all their descendants (from the ppid field of /proc/<pid>/stat)."""
        with self._lock:
            roots = set(self._roots)
        children: dict[int, list[int]] = {}
        for entry in PROC.iterdir():
            if entry.name.isdigit():
                stat = _read(entry / "stat")
                fields = stat[stat.rfind(")") + 2 :].split()
                if len(fields) > 1 and fields[0] != "Z":
                    children.setdefault(int(fields[1]), []).append(int(entry.name))
        alive = roots & {pid for kids in children.values() for pid in kids}
        tree, todo = set(alive), list(alive)
        while todo:
            for kid in children.get(todo.pop(), []):
                if kid not in tree:
                    tree.add(kid)
                    todo.append(kid)
        return tree
