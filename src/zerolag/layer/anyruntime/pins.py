"""What the bundled CPython is built from, pinned (docs/layer.md, "Pinned inputs").

The sources are Debian bookworm source packages fetched with ``apt-get source`` (apt checks each file against
the signed Release -> Sources -> .dsc chain); their upstream tarballs are checked again here against the
sha256 recorded below, so a changed archive fails the build instead of changing the interpreter. The C
toolchain is Zig from PyPI, installed by pip with ``--require-hashes``.

Bumping a pin: change the version, run ``make layer-any``; the build stops with the new tarball's sha256,
to be checked against the .dsc and recorded here.
"""

from __future__ import annotations

from dataclasses import dataclass

# Debian bookworm (stable): only point releases change it, so pinned versions stay fetchable for its lifetime.
DEBIAN_SUITES = ("bookworm", "bookworm-updates")
DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


@dataclass(frozen=True)
class SourcePin:
    package: str  # the Debian source package
    version: str  # its exact Debian version
    tarball: str  # the upstream (orig) tarball inside it
    sha256: str
    directory: str  # the top directory the tarball unpacks to


PYTHON = SourcePin(
    "python3.11",
    "3.11.2-6+deb12u8",
    "python3.11_3.11.2.orig.tar.gz",
    "2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849",
    "Python-3.11.2",
)
ZLIB = SourcePin(
    "zlib",
    "1:1.2.13.dfsg-1",
    "zlib_1.2.13.dfsg.orig.tar.bz2",
    "71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1",
    "zlib-1.2.13.dfsg",
)
OPENSSL = SourcePin(
    "openssl",
    "3.0.17-1~deb12u2",
    "openssl_3.0.17.orig.tar.gz",
    "dfdd77e4ea1b57ff3a6dbde6b0bdc3f31db5ac99e7fdd4eaf9e1fbb6ec2db8ce",
    "openssl-3.0.17",
)
SOURCES = (ZLIB, OPENSSL, PYTHON)

# pip installs exactly this wheel or fails (--require-hashes); one hash per host platform we build on.
ZIG_VERSION = "0.13.0"
ZIG_WHEEL_SHA256 = {
    "x86_64": "3ce0c9f16547e5d61b32e0d226926e9a2552ef4b91fccf7ab5ea1a623a77824b",
    "aarch64": "5714a4d46f9246ba6180a0930e23df2bc8bc26e62b5fe0dc798b4afca1903308",
}

# The oldest glibc of a Lambda base image (Amazon Linux 2); Zig links against exactly this version's symbols.
GLIBC_TARGET = "2.26"
PYTHON_VERSION = "3.11"


@dataclass(frozen=True)
class Arch:
    lambda_name: str  # as Lambda's CompatibleArchitectures spells it
    cpu: str  # the ELF/Zig spelling
    openssl_target: str
    elf_machine: int  # e_machine in the ELF header


ARCHES = {
    "x86_64": Arch("x86_64", "x86_64", "linux-x86_64", 62),
    "arm64": Arch("arm64", "aarch64", "linux-aarch64", 183),
}
