"""The sandbox's ``/tmp`` as Lambda's ephemeral storage: disk, capped at ``--ephemeral-storage`` MB
(docs/emulator.md, "Isolation").

On Lambda ``/tmp`` is a disk: what a function writes there is not memory. A tmpfs would charge every byte to
the sandbox's memory cgroup and OOM-kill a 128 MB function that downloads 200 MB to ``/tmp``, which Lambda
runs fine. So ``/tmp`` is an ext4 image on a loop device: a pristine image per size is made once with
``mkfs.ext4`` (cached, sparse), each sandbox gets a sparse copy (a few MB of metadata, no process), and the
sandbox's ``mount -a`` mounts it with ``loop`` (detached automatically when the namespace goes). Without loop
devices or ``mkfs.ext4`` the caller falls back to a size-capped tmpfs (documented divergence).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

MKFS_TIMEOUT_S = 60.0
# No journal (nothing to recover: the image dies with the sandbox), no reserved blocks, lazy init.
MKFS_OPTIONS = ("-q", "-F", "-m", "0", "-O", "^has_journal", "-E", "lazy_itable_init=1,nodiscard")


def available() -> bool:
    """Loop devices and mkfs.ext4 are there (and we are root, who may use them)."""
    return (
        os.geteuid() == 0
        and Path("/dev/loop-control").exists()
        and shutil.which("mkfs.ext4") is not None
        and "ext4" in _filesystems()
    )


def _filesystems() -> str:
    try:
        return Path("/proc/filesystems").read_text()
    except OSError:
        return ""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "zerolag" / "ephemeral-storage"


def template(size_mb: int) -> Path:
    """The pristine image of ``size_mb`` MB, made once (under a lock, renamed into place)."""
    directory = cache_dir()
    path = directory / f"ext4-{size_mb}m.img"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return path
        staging = directory / f".ext4-{size_mb}m.img.{os.getpid()}"
        with open(staging, "wb") as image:
            image.truncate(size_mb * 1024 * 1024)
        done = subprocess.run(
            ["mkfs.ext4", *MKFS_OPTIONS, str(staging)],
            capture_output=True,
            text=True,
            timeout=MKFS_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            staging.unlink(missing_ok=True)
            raise OSError(f"mkfs.ext4 failed: {done.stderr.strip()}")
        staging.rename(path)
    return path


def sparse_copy(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` keeping its holes (only the data extents are read and written)."""
    inp = os.open(src, os.O_RDONLY | os.O_CLOEXEC)
    try:
        out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            size = os.fstat(inp).st_size
            os.ftruncate(out, size)
            pos = 0
            while pos < size:
                try:
                    start = os.lseek(inp, pos, os.SEEK_DATA)
                except OSError:  # ENXIO: only a hole is left
                    break
                end = os.lseek(inp, start, os.SEEK_HOLE)
                while start < end:
                    chunk = os.pread(inp, min(end - start, 1 << 20), start)
                    if not chunk:
                        break
                    start += os.pwrite(out, chunk, start)
                pos = end
        finally:
            os.close(out)
    finally:
        os.close(inp)


def image_for(root: Path, size_mb: int) -> Path | None:
    """A fresh ``/tmp`` image in ``root`` for one sandbox, or None when disk-backed storage is unavailable."""
    if not available():
        return None
    try:
        image = root / "ephemeral.img"
        sparse_copy(template(size_mb), image)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("no disk-backed /tmp, using a tmpfs: %s", exc)
        return None
    return image


def prepare_root(tmp: Path) -> None:
    """After mounting: ``/tmp`` is 1777 and empty, as on Lambda (mkfs leaves a 0755 root and lost+found)."""
    os.chmod(tmp, 0o1777)  # noqa: S103 - /tmp is world-writable and sticky, as on Lambda
    lost = tmp / "lost+found"
    if lost.is_dir():
        lost.rmdir()
