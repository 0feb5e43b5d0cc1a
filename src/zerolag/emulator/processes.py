"""Sandbox processes: spawned in their own session, inside the sandbox's PID and mount namespaces and its
cgroup (joined in the child before exec, so nothing escapes), as the sandbox user with no way back to
privileges (``PR_SET_NO_NEW_PRIVS``), with stdout+stderr read line by line and the exit reported to a
callback. See docs/emulator.md, "Isolation"."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import logging
import os
import signal
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

log = logging.getLogger(__name__)

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
PR_SET_NO_NEW_PRIVS = 38
LINGER_S = 0.5  # how long output may trail a process's exit
PREEXEC_TRIES = 20
SPAWN_TRIES = 3
TRANSIENT_ERRNOS = frozenset({errno.EINTR, errno.EAGAIN, errno.EBUSY, errno.ENOMEM})


_LIBC = ctypes.CDLL(None, use_errno=True)


def _preexec(
    join_fd: int | None, ns_fd: int | None, cwd: str, user: tuple[int, int] | None
) -> Callable[[], None]:
    def setns() -> None:
        if ns_fd is not None and _LIBC.setns(ns_fd, CLONE_NEWNS) != 0:
            raise OSError(ctypes.get_errno(), "setns failed")

    def run() -> None:  # in the child, after fork, before exec: no locks, no allocation-heavy work
        if join_fd is not None:
            pid = str(os.getpid()).encode()
            _retry(lambda: os.write(join_fd, pid))
        _retry(setns)
        os.chdir(cwd)
        if user is not None:  # last: joining the cgroup and the namespace need root
            if _LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
            uid, gid = user
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)

    return run


_PIDNS_LOCK = threading.Lock()


@contextlib.contextmanager
def _children_in(pidns_path: str | None) -> Iterator[None]:
    """While inside, processes this thread starts are born in ``pidns_path``'s PID namespace.

    ``setns(CLONE_NEWPID)`` changes only the calling thread's namespace for children (the thread itself and
    the rest of the process stay put), and is undone on the way out."""
    if pidns_path is None:
        yield
        return
    with _PIDNS_LOCK:
        own = os.open("/proc/thread-self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        target = os.open(pidns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if _LIBC.setns(target, CLONE_NEWPID) != 0:
                raise OSError(ctypes.get_errno(), "setns(CLONE_NEWPID) failed")
            try:
                yield
            finally:
                if _LIBC.setns(own, CLONE_NEWPID) != 0:
                    raise OSError(ctypes.get_errno(), "could not return to the emulator's PID namespace")
        finally:
            os.close(own)
            os.close(target)


def _retry(step: Callable[[], object]) -> None:
    """Run one pre-exec step, again on a transient kernel answer (a busy cgroup, an interrupted call)."""
    for _ in range(PREEXEC_TRIES - 1):
        try:
            step()
            return
        except OSError as exc:
            if exc.errno not in TRANSIENT_ERRNOS:
                raise
            time.sleep(0.001)
    step()


class LineReader:
    """Reads a pipe with raw ``os.read`` and splits lines, so "drained" is knowable: the reader is blocked
    in read and the pipe holds no bytes (FIONREAD)."""

    def __init__(self, fd: int, on_line: Callable[[str], None]) -> None:
        self.fd = fd
        self.on_line = on_line
        self.idle = False
        self.done = threading.Event()

    def run(self) -> None:
        rest = b""
        try:
            while True:
                self.idle = True
                data = os.read(self.fd, 65536)
                self.idle = False
                if not data:
                    break
                *lines, rest = (rest + data).split(b"\n")
                for raw in lines:
                    self._deliver(raw)
            if rest:
                self._deliver(rest)
        except OSError:
            pass
        finally:
            self.done.set()

    def _deliver(self, raw: bytes) -> None:
        """Hand one line on; a failing consumer must not stop the reader (the pipe would fill and block
        the process)."""
        try:
            self.on_line(raw.decode("utf-8", errors="replace").rstrip("\r"))
        except Exception:
            log.exception("log line consumer failed")

    def drained(self) -> bool:
        if self.done.is_set():
            return True
        try:
            buf = fcntl.ioctl(self.fd, termios.FIONREAD, b"\0\0\0\0")
        except OSError:
            return True
        return self.idle and int.from_bytes(buf, sys.byteorder) == 0


@dataclass
class SandboxProcess:
    """One running process of the sandbox (the runtime or an external extension)."""

    kind: str  # "runtime" | "extension"
    name: str
    popen: subprocess.Popen[bytes]
    reader: LineReader

    def drained(self) -> bool:
        """Everything the process wrote so far has been handed to ``on_line``."""
        return self.reader.drained()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        """Signal the whole process group (the process and what it started)."""
        with contextlib.suppress(OSError):
            os.killpg(self.popen.pid, sig)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)


def _popen(
    argv: list[str],
    env: dict[str, str],
    *,
    join_fd: int | None,
    ns_fd: int | None,
    cwd: str,
    user: tuple[int, int] | None,
) -> subprocess.Popen[bytes]:
    """Popen with the pre-exec steps; a child whose pre-exec step failed never ran anything, so it is started
    again (bounded) rather than failing the sandbox on a transient kernel answer seen under load."""
    for attempt in range(SPAWN_TRIES):
        try:
            return subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=tuple(fd for fd in (join_fd, ns_fd) if fd is not None),
                preexec_fn=_preexec(join_fd, ns_fd, cwd, user),  # noqa: PLW1509 - setns/cgroup join precede exec
            )
        except subprocess.SubprocessError:
            if attempt == SPAWN_TRIES - 1:
                raise
    raise AssertionError("unreachable")


def spawn(
    kind: str,
    name: str,
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: str,
    join_fd: int | None,
    ns_path: str | None,
    on_line: Callable[[str], None],
    on_exit: Callable[[int], None],
    pidns_path: str | None = None,
    user: tuple[int, int] | None = None,
) -> SandboxProcess:
    """Start ``argv`` in the sandbox; lines go to ``on_line``, the exit code (-signal) to ``on_exit``."""
    ns_fd = os.open(ns_path, os.O_RDONLY | os.O_CLOEXEC) if ns_path else None
    try:
        with _children_in(pidns_path):
            popen = _popen(argv, env, join_fd=join_fd, ns_fd=ns_fd, cwd=cwd, user=user)
    finally:
        if ns_fd is not None:
            os.close(ns_fd)
    assert popen.stdout is not None
    reader = LineReader(popen.stdout.fileno(), on_line)
    proc = SandboxProcess(kind, name, popen, reader)
    threading.Thread(target=_pump, args=(popen, reader, on_exit), name=f"{kind}-{name}", daemon=True).start()
    return proc


def _pump(popen: subprocess.Popen[bytes], reader: LineReader, on_exit: Callable[[int], None]) -> None:
    """Forward lines; on exit let the reader drain (bounded: a child may hold the pipe), report the code."""
    thread = threading.Thread(target=reader.run, daemon=True)
    thread.start()
    code = popen.wait()
    reader.done.wait(LINGER_S)
    on_exit(code)
    reader.done.wait()  # EOF comes once every holder of the pipe is gone (killed at reset at the latest)
    assert popen.stdout is not None
    popen.stdout.close()


def kill_pid_namespace(pidns_path: str) -> int:
    """SIGKILL every process of the PID namespace at ``pidns_path`` but its init (the reset when there is
    no cgroup to kill); returns how many were signalled."""
    try:
        target = os.stat(pidns_path)
    except OSError:
        return 0
    killed = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{entry.name}/ns/pid")
            nspid = _status_field(entry.name, "NSpid")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) != (target.st_dev, target.st_ino) or nspid.split()[-1:] == ["1"]:
            continue
        with contextlib.suppress(OSError):
            os.kill(int(entry.name), signal.SIGKILL)
            killed += 1
    return killed


def _status_field(pid: str, key: str) -> str:
    with open(f"/proc/{pid}/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.partition(":")[2].strip()
    return ""
