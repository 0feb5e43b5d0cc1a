"""The sandbox's cgroup: freezing between invocations, as Lambda does (contract section 2, Freeze), and
ending every process of the sandbox at a reset (docs/emulator.md, "Isolation").

Preferred: a freezer cgroup per sandbox (v1 ``/sys/fs/cgroup/freezer/zerolag-<id>``, or v2 ``cgroup.freeze``);
every sandbox process joins it before it execs, so its children (even ones that called ``setsid()``) are in
it too. With freezing turned off the cgroup is still made, only never frozen, so a reset still finds every
process. Fallback: SIGSTOP/SIGCONT to each sandbox process group (``NoFreezer`` when turned off).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

V1_ROOT = Path("/sys/fs/cgroup/freezer")
V2_ROOT = Path("/sys/fs/cgroup")
STATE_TIMEOUT_S = 5.0


class Freezer(Protocol):
    kind: str

    def join_fd(self) -> int | None: ...
    def track(self, pgid: int) -> None: ...
    def freeze(self) -> None: ...
    def thaw(self) -> None: ...
    def pids(self) -> list[int]: ...
    def kill_all(self) -> None: ...
    def close(self) -> None: ...


def _read_pids(path: Path) -> list[int]:
    try:
        return [int(x) for x in path.read_text().split()]
    except (OSError, ValueError):
        return []


class CgroupFreezer:
    """A per-sandbox freezer cgroup (v1 ``freezer.state`` or v2 ``cgroup.freeze``)."""

    def __init__(self, path: Path, v2: bool, *, active: bool = True) -> None:
        self.path = path
        self.v2 = v2
        self.active = active  # False: membership only (freezing turned off), frozen only to kill
        self.kind = ("cgroup-v2" if v2 else "cgroup-v1") if active else "none"
        path.mkdir()
        procs = "cgroup.procs" if v2 else "tasks"
        self._fd = os.open(path / procs, os.O_WRONLY | os.O_CLOEXEC)

    def join_fd(self) -> int | None:
        """An fd a child writes its pid to (before exec) to join the cgroup."""
        return self._fd

    def track(self, pgid: int) -> None:
        """Membership comes from the cgroup itself."""

    def _set(self, frozen: bool) -> None:
        if self.v2:
            (self.path / "cgroup.freeze").write_text("1" if frozen else "0")
        else:
            (self.path / "freezer.state").write_text("FROZEN" if frozen else "THAWED")

    def _is(self, frozen: bool) -> bool:
        if self.v2:
            text = (self.path / "cgroup.events").read_text()
            return f"frozen {1 if frozen else 0}" in text
        state = (self.path / "freezer.state").read_text().strip()
        return state == ("FROZEN" if frozen else "THAWED")

    def _apply(self, frozen: bool) -> None:
        deadline = time.monotonic() + STATE_TIMEOUT_S
        self._set(frozen)
        while not self._is(frozen) and time.monotonic() < deadline:
            time.sleep(0.0002)  # the kernel finishes FREEZING asynchronously; poll with a deadline
            self._set(frozen)

    def freeze(self) -> None:
        if self.active:
            self._apply(True)

    def thaw(self) -> None:
        if self.active:
            self._apply(False)

    def pids(self) -> list[int]:
        return _read_pids(self.path / ("cgroup.procs" if self.v2 else "tasks"))

    def kill_all(self) -> None:
        """SIGKILL every process of the cgroup and wait (bounded) until it is empty. ``cgroup.kill`` on v2;
        on v1 the cgroup is frozen first, so nothing can fork while the list is read and signalled."""
        deadline = time.monotonic() + STATE_TIMEOUT_S
        kill_file = self.path / "cgroup.kill"
        while self.pids() and time.monotonic() < deadline:
            if self.v2 and kill_file.exists():
                with contextlib.suppress(OSError):
                    kill_file.write_text("1")
            else:
                with contextlib.suppress(OSError):
                    self._apply(True)
                for pid in self.pids():
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(OSError):
                    self._apply(False)  # a frozen process cannot even die
            time.sleep(0.001)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.thaw()
        os.close(self._fd)
        deadline = time.monotonic() + STATE_TIMEOUT_S
        while True:
            try:
                self.path.rmdir()
                return
            except OSError:
                if time.monotonic() > deadline:
                    log.warning("could not remove cgroup %s", self.path)
                    return
                for pid in self.pids():
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.01)


def _stopped(pid: int) -> bool:
    """Every thread of ``pid`` is stopped (or the process is gone)."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        states = [(t / "stat").read_text().rpartition(")")[2].split()[0] for t in tasks]
    except (OSError, IndexError):
        return True
    return all(s in ("T", "t", "Z", "X") for s in states)


class SignalFreezer:
    """SIGSTOP/SIGCONT to every sandbox process group."""

    kind = "sigstop"

    def __init__(self) -> None:
        self._groups: list[int] = []

    def join_fd(self) -> int | None:
        return None

    def track(self, pgid: int) -> None:
        self._groups.append(pgid)

    def _signal(self, sig: int) -> None:
        for pgid in self._groups:
            with contextlib.suppress(OSError):
                os.killpg(pgid, sig)

    def freeze(self) -> None:
        """SIGSTOP is asynchronous: wait (bounded) until every thread of each leader shows state T."""
        self._signal(signal.SIGSTOP)
        deadline = time.monotonic() + STATE_TIMEOUT_S
        while not all(_stopped(pid) for pid in self._groups) and time.monotonic() < deadline:
            time.sleep(0.001)

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)

    def pids(self) -> list[int]:
        return []

    def kill_all(self) -> None:
        """SIGKILL every tracked process group (a process that left its group is not found here), then forget
        them: a reset ends the generation, and a group id must not outlive it (it could be reused)."""
        for pgid in self._groups:
            with contextlib.suppress(OSError):
                os.killpg(pgid, signal.SIGCONT)
                os.killpg(pgid, signal.SIGKILL)
        self._groups.clear()

    def close(self) -> None:
        self.thaw()
        self._groups.clear()


class NoFreezer(SignalFreezer):
    """Freezing turned off: processes keep running between invocations."""

    kind = "none"

    def freeze(self) -> None:
        """Off."""

    def thaw(self) -> None:
        """Off."""


def _v2_parent() -> Path | None:
    if not (V2_ROOT / "cgroup.controllers").exists():
        return None
    try:
        line = Path("/proc/self/cgroup").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return V2_ROOT / line.partition("::")[2].lstrip("/")


def create(sandbox_id: str, mode: bool | str) -> Freezer:
    """The best freezer the OS offers (cgroup v1, v2, then signals); an inactive cgroup (or ``NoFreezer``)
    when disabled. ``mode``: True/"auto", False/"off", "cgroup" (no signal fallback wanted), "signal"
    (force SIGSTOP)."""
    active = not (mode is False or mode == "off")
    if mode == "signal":
        return SignalFreezer()
    name = f"zerolag-{sandbox_id}"
    candidates: list[tuple[Path, bool]] = []
    if (V1_ROOT / "freezer.state").exists() or (V1_ROOT / "tasks").exists():
        candidates.append((V1_ROOT / name, False))
    parent = _v2_parent()
    if parent is not None:
        candidates.append((parent / name, True))
    for path, v2 in candidates:
        try:
            return CgroupFreezer(path, v2, active=active)
        except OSError as exc:
            log.debug("freezer cgroup %s unavailable: %s", path, exc)
    return SignalFreezer() if active else NoFreezer()
