#!/usr/bin/env bash
# System packages the tests need that PyPI cannot give: Debian's chromium and chromedriver for the
# viewer's browser tests, PostgreSQL for the collector's PostgreSQL store, and the OpenTelemetry JS SDK
# from npm for the Node.js end-to-end test.
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "setup-system: chromium not installed and apt-get unavailable; browser tests will be skipped" >&2
  fi
fi
# The emulator's isolation (docs/emulator.md, "Isolation"): unshare/mount/pivot_root (util-linux) and
# mkfs.ext4 (e2fsprogs) for the disk-backed /tmp. Present on most systems; without them it falls back.
if ! command -v pivot_root >/dev/null 2>&1 || ! command -v mkfs.ext4 >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq util-linux mount e2fsprogs >/dev/null
  fi
fi
# The any-runtime layer's CPython build (docs/layer.md): OpenSSL's Configure needs a full perl (IPC::Cmd).
if ! perl -MIPC::Cmd -e 1 >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq perl >/dev/null 2>&1 \
    || echo "setup-system: perl not installed; the any-runtime layer cannot be built" >&2
fi
# qemu-user-static runs the any-runtime layer's arm64 interpreter on an x86_64 machine (zerolag layer verify).
# libc6-arm64-cross gives qemu the aarch64 glibc (/usr/aarch64-linux-gnu) that dynamic binary loads.
if [ "$(uname -m)" = x86_64 ] && { ! command -v qemu-aarch64-static >/dev/null 2>&1 || [ ! -d /usr/aarch64-linux-gnu/lib ]; } \
  && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq qemu-user-static libc6-arm64-cross >/dev/null 2>&1 \
    || echo "setup-system: qemu-user-static not installed; the arm64 interpreter is checked by its ELF only" >&2
fi
if [ -f tests/node/package.json ] && [ ! -d tests/node/node_modules ] && command -v npm >/dev/null 2>&1; then
  (cd tests/node && npm install --silent --no-audit --no-fund >/dev/null)
fi
# PostgreSQL server binaries (initdb, pg_ctl) for the collector's PostgreSQL store tests: each test run starts a
# throwaway cluster of its own, so the package's default cluster is not needed (nor started by us).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq postgresql >/dev/null
  else
    echo "setup-system: PostgreSQL not installed and apt-get unavailable; PostgreSQL tests will be skipped" >&2
  fi
fi
