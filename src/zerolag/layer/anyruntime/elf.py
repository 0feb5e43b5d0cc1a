"""What an ELF executable needs from the C library: its machine and the symbol versions it requires.

Reads the ELF header, the section headers and the ``SHT_GNU_verneed`` section (``.gnu.version_r``, the
"version needed" records ``readelf -V`` prints), so ``layer verify`` can say that the bundled interpreter
needs no glibc symbol newer than the oldest Lambda base image's (docs/layer.md). 64-bit little-endian only:
both Lambda architectures (x86_64, arm64) are.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SHT_GNU_VERNEED = 0x6FFFFFFE
PT_INTERP = 3
MACHINES = {62: "x86_64", 183: "aarch64"}


class ElfError(ValueError):
    """Not a 64-bit little-endian ELF file, or a malformed one."""


@dataclass(frozen=True)
class ElfInfo:
    machine: int
    interpreter: str | None  # PT_INTERP: the dynamic loader, None for a static executable
    needed: dict[str, set[str]] = field(
        default_factory=dict
    )  # library -> versions, e.g. libc.so.6 -> {GLIBC_2.17}

    @property
    def machine_name(self) -> str:
        return MACHINES.get(self.machine, str(self.machine))

    def glibc_versions(self) -> list[tuple[int, ...]]:
        """Every ``GLIBC_x.y[.z]`` version required, as tuples, sorted."""
        out = set()
        for versions in self.needed.values():
            for version in versions:
                if version.startswith("GLIBC_") and version[6:7].isdigit():
                    out.add(tuple(int(part) for part in version[6:].split(".")))
        return sorted(out)


def _cstring(data: bytes, offset: int) -> str:
    end = data.find(b"\0", offset)
    if offset < 0 or end < 0:
        raise ElfError("string out of bounds")
    return data[offset:end].decode("ascii", errors="replace")


def parse(data: bytes) -> ElfInfo:
    if len(data) < 64 or data[:4] != b"\x7fELF":
        raise ElfError("not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise ElfError("not a 64-bit little-endian ELF file")
    try:
        (machine,) = struct.unpack_from("<H", data, 18)
        phoff, shoff = struct.unpack_from("<QQ", data, 32)
        phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 54)
        interpreter = None
        for i in range(phnum):
            p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = struct.unpack_from(
                "<IIQQQQ", data, phoff + i * phentsize
            )
            if p_type == PT_INTERP:
                interpreter = (
                    data[p_offset : p_offset + p_filesz].rstrip(b"\0").decode("ascii", errors="replace")
                )
        sections = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
        needed: dict[str, set[str]] = {}
        for _name, sh_type, _flags, _addr, offset, _size, link, info, _align, _entsize in sections:
            if sh_type != SHT_GNU_VERNEED:
                continue
            strtab = sections[link]
            strings = data[strtab[4] : strtab[4] + strtab[5]]
            entry = offset
            for _ in range(info):  # sh_info: the number of Verneed entries
                _version, count, file_off, aux, next_off = struct.unpack_from("<HHIII", data, entry)
                versions = needed.setdefault(_cstring(strings, file_off), set())
                aux_at = entry + aux
                for _ in range(count):
                    _hash, _vflags, _other, name_off, aux_next = struct.unpack_from("<IHHII", data, aux_at)
                    versions.add(_cstring(strings, name_off))
                    aux_at += aux_next
                if not next_off:
                    break
                entry += next_off
    except (struct.error, IndexError) as exc:
        raise ElfError(f"malformed ELF file: {exc}") from exc
    return ElfInfo(machine, interpreter, needed)
