"""Deployment packages (function code and layer zips): checked entry by entry, then extracted so that nothing
is ever written, chmod-ed or followed outside the extraction directory (docs/emulator.md, "Zip extraction").

An entry is unsafe when its name is absolute, climbs out with ``..``, uses a backslash or a NUL, passes
through a symlink entry, is a device/FIFO/socket, carries setuid/setgid bits, or is a symlink whose target
leaves the tree it is extracted into (``mount_point`` names where that tree appears in the sandbox, so an
absolute target under it, like ``/opt/lib/libx.so`` in a layer, is fine). A zip with any unsafe entry is
refused as a whole and every unsafe entry is named; ``zerolag layer verify`` reports the same list.

Symlinks are kept (Lambda keeps them: shared libraries rely on them) but created last and never followed
while extracting; permissions come from the entry (setuid/setgid/sticky dropped), 0644/0755 when the zip
carries none, as a zip made on Windows does.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

MAX_UNZIPPED_BYTES = 250 * 1024 * 1024  # Lambda's limit for function code plus all layers, unzipped
MAX_SYMLINK_TARGET = 4096
DEFAULT_FILE_MODE = 0o644
DEFAULT_DIR_MODE = 0o755
SPECIAL_BITS = stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX


@dataclass(frozen=True)
class Problem:
    """One unsafe entry: its name as stored in the zip and why it is refused."""

    entry: str
    reason: str

    def __str__(self) -> str:
        return f"{self.entry!r}: {self.reason}"


class UnsafeZipError(ValueError):
    """The zip has entries that could write or point outside its directory; ``problems`` names them."""

    def __init__(self, source: Path, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        super().__init__(f"{source}: refused, unsafe zip entries: {shown}{more}")


def entry_mode(info: zipfile.ZipInfo) -> int:
    """The Unix mode stored with the entry (0 when the zip was not made on Unix)."""
    return info.external_attr >> 16 if info.create_system == 3 else 0


def is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(entry_mode(info))


NAME_RULES = (
    (lambda n: "\x00" in n, "NUL in the name"),
    (lambda n: "\\" in n, "backslash in the name (a Windows path)"),
    (lambda n: n.startswith("/"), "absolute path"),
    (lambda n: len(n) >= 2 and n[1] == ":", "drive-letter path"),
)


def _parts(name: str) -> tuple[str, ...] | str:
    """The path parts of a safe name, or why the name is unsafe."""
    for broken, why in NAME_RULES:
        if broken(name):
            return why
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        return "'..' in the path (leaves the directory)"
    if not parts:
        return "empty name"
    return parts


def _target_problem(parts: tuple[str, ...], target: str, mount_point: str | None) -> str | None:
    """Why a symlink at ``parts`` with ``target`` points outside the tree, or None."""
    if not target or "\x00" in target or len(target) > MAX_SYMLINK_TARGET:
        return "symlink with an empty, NUL-bearing or overlong target"
    if target.startswith("/"):
        root = mount_point.rstrip("/") if mount_point else None
        if root and (target == root or target.startswith(root + "/")):
            rest = posixpath.normpath(target[len(root) :].lstrip("/") or ".")
            return None if not rest.startswith("..") else f"symlink to {target!r} leaves {root}"
        return f"symlink to {target!r} outside the tree"
    resolved = posixpath.normpath(posixpath.join(*parts[:-1], target) if len(parts) > 1 else target)
    if resolved == ".." or resolved.startswith("../"):
        return f"symlink to {target!r} leaves the tree"
    return None


def problems(archive: zipfile.ZipFile, *, mount_point: str | None = None) -> list[Problem]:
    """Every unsafe entry of ``archive`` (pure: reads only symlink targets)."""
    found: list[Problem] = []
    links: set[tuple[str, ...]] = set()
    paths: list[tuple[zipfile.ZipInfo, tuple[str, ...]]] = []
    total = 0
    for info in archive.infolist():
        parts = _parts(info.filename)
        if isinstance(parts, str):
            found.append(Problem(info.filename, parts))
            continue
        mode = entry_mode(info)
        kind = stat.S_IFMT(mode)
        if kind and kind not in (stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK):
            found.append(Problem(info.filename, f"special file (mode {stat.filemode(mode)})"))
            continue
        if mode & (stat.S_ISUID | stat.S_ISGID):
            found.append(Problem(info.filename, f"setuid/setgid bit (mode {stat.filemode(mode)})"))
        if kind == stat.S_IFLNK:
            if info.file_size > MAX_SYMLINK_TARGET:
                found.append(Problem(info.filename, "symlink with an overlong target"))
                continue
            target = archive.read(info).decode("utf-8", errors="replace")
            why = _target_problem(parts, target, mount_point)
            if why:
                found.append(Problem(info.filename, why))
            links.add(parts)
        total += info.file_size
        paths.append((info, parts))
    for info, parts in paths:
        through = next((parts[:i] for i in range(1, len(parts)) if parts[:i] in links), None)
        if through is not None:
            found.append(Problem(info.filename, f"written through the symlink entry {'/'.join(through)!r}"))
    if total > MAX_UNZIPPED_BYTES:
        found.append(Problem("*", f"unzipped size {total} bytes over Lambda's {MAX_UNZIPPED_BYTES}"))
    return found


def _mkdirs(into: Path, parts: tuple[str, ...]) -> Path:
    """Create ``into/parts...`` as real directories; a file or symlink in the way is an error."""
    path = into
    for part in parts:
        path = path / part
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            os.mkdir(path, 0o700)  # owner-only until the final modes are set at the end
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise UnsafeZipError(into, [Problem("/".join(parts), f"{path.name!r} is not a directory")])
    return path


def _write_file(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as out, archive.open(info) as src:
        while chunk := src.read(1 << 20):
            out.write(chunk)
        os.fchmod(out.fileno(), mode)


def extract(source: Path, into: Path, *, mount_point: str | None = None) -> None:
    """Extract the zip ``source`` into the new directory ``into``; raise ``UnsafeZipError`` (nothing written)
    when any entry is unsafe."""
    with zipfile.ZipFile(source) as archive:
        bad = problems(archive, mount_point=mount_point)
        if bad:
            raise UnsafeZipError(source, bad)
        into.mkdir(parents=True)
        dirs: dict[Path, int] = {into: DEFAULT_DIR_MODE}
        links: list[tuple[Path, str]] = []
        for info in archive.infolist():
            parts = _parts(info.filename)
            assert isinstance(parts, tuple)
            mode = entry_mode(info)
            perms = mode & 0o777 & ~SPECIAL_BITS
            if info.is_dir() or stat.S_ISDIR(mode):
                dirs[_mkdirs(into, parts)] = perms or DEFAULT_DIR_MODE
                continue
            parent = _mkdirs(into, parts[:-1])
            dirs.setdefault(parent, DEFAULT_DIR_MODE)
            if stat.S_ISLNK(mode):
                links.append((parent / parts[-1], archive.read(info).decode("utf-8", errors="replace")))
                continue
            _write_file(archive, info, parent / parts[-1], perms or DEFAULT_FILE_MODE)
        for path, target in links:
            if os.path.lexists(path):
                os.unlink(path)  # a later symlink entry replaces an earlier entry of the same name
            os.symlink(target, path)
        for path, perms in sorted(dirs.items(), key=lambda kv: -len(kv[0].parts)):
            os.chmod(path, perms, follow_symlinks=False)


def merge_tree(src: Path, dst: Path) -> None:
    """Copy ``src`` over ``dst`` as a later layer lands on earlier ones: files replace files, directories
    merge, symlinks are copied as symlinks. Nothing is followed: a symlink of an earlier layer where this
    layer has a directory is replaced by a real directory, so no write can leave ``dst``."""
    dst.mkdir(exist_ok=True)
    for entry in os.scandir(src):
        target = dst / entry.name
        if entry.is_dir(follow_symlinks=False):
            if os.path.islink(target) or (os.path.lexists(target) and not target.is_dir()):
                os.unlink(target)
            if not os.path.lexists(target):
                os.mkdir(target)
                os.chmod(target, stat.S_IMODE(entry.stat(follow_symlinks=False).st_mode))
            merge_tree(Path(entry.path), target)
            continue
        if os.path.lexists(target):
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                os.unlink(target)
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), target)
        elif entry.is_file(follow_symlinks=False):
            _copy_file(Path(entry.path), target)
        # devices, FIFOs and sockets in a layer directory are not copied (a zip cannot carry them either)


def _copy_file(src: Path, dst: Path) -> None:
    st = os.stat(src, follow_symlinks=False)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    with open(src, "rb") as inp, os.fdopen(os.open(dst, flags, 0o600), "wb") as out:
        while chunk := inp.read(1 << 20):
            out.write(chunk)
        os.fchmod(out.fileno(), stat.S_IMODE(st.st_mode) & ~SPECIAL_BITS)
