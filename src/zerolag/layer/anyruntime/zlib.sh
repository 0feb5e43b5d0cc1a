#!/bin/sh
# Build a static zlib for the bundled CPython (docs/layer.md). Inputs from build_python.py: SRC (extracted
# source dir), PREFIX (install prefix), CC/AR/RANLIB (the pinned Zig toolchain for the target), JOBS.
set -eu
cd "$SRC"
CC="$CC" AR="$AR" RANLIB="$RANLIB" CFLAGS="-O2 -fPIC -w" ./configure --static --prefix="$PREFIX" >/dev/null
make -j"$JOBS" libz.a >/dev/null
mkdir -p "$PREFIX/lib" "$PREFIX/include"
cp libz.a "$PREFIX/lib/"
cp zlib.h zconf.h "$PREFIX/include/"
