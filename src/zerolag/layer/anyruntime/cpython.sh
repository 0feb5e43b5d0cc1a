#!/bin/sh
# Build the bundled CPython (docs/layer.md): one static executable, no libpython.so, with only the extension
# modules the zerolag extension needs built in (Modules/Setup.local, *static*), every other optional module
# dropped (an empty Modules/Setup.stdlib), linked against the static zlib and OpenSSL in PREFIX, stripped.
# hashlib uses CPython's own hash modules (_md5 ... _blake2): OpenSSL is built for TLS only (no scrypt,
# which _hashlib requires). OPT: -O2 without -g (the binary is stripped; debug info only slows the build).
# Inputs: SRC (extracted CPython source), PREFIX (zlib/OpenSSL), OUT (where bin/python3.11 and the stdlib
# sources go), CC/AR/RANLIB, JOBS, HOST_TRIPLE (x86_64-linux-gnu | aarch64-linux-gnu), BUILD_PYTHON (a host
# python3.11: cross-builds freeze the bootstrap modules with it). READELF: binutils' readelf (a full path: configure refuses a bare 'readelf' when cross-building).
set -eu
cd "$SRC"
cat > Modules/Setup.local <<'SETUP'
*static*
array arraymodule.c
binascii binascii.c
math mathmodule.c
select selectmodule.c
unicodedata unicodedata.c
zlib zlibmodule.c
fcntl fcntlmodule.c
_bisect _bisectmodule.c
_blake2 _blake2/blake2module.c _blake2/blake2b_impl.c _blake2/blake2s_impl.c
_contextvars _contextvarsmodule.c
_datetime _datetimemodule.c
_heapq _heapqmodule.c
_json _json.c
_opcode _opcode.c
_random _randommodule.c
_md5 md5module.c
_sha1 sha1module.c
_sha256 sha256module.c
_sha512 sha512module.c
_sha3 _sha3/sha3module.c
_socket socketmodule.c
_ssl _ssl.c
_struct _struct.c
_typing _typingmodule.c
SETUP
# What configure cannot find out by running a program for another architecture; and memfd_create, which
# configure finds by compiling only (Zig's headers declare it) but glibc 2.26 lacks (it came in 2.27).
cat > config.site <<'SITE'
ac_cv_file__dev_ptmx=yes
ac_cv_file__dev_ptc=no
ac_cv_buggy_getaddrinfo=no
ac_cv_func_memfd_create=no
SITE
READELF="${READELF:-$(command -v readelf)}" CONFIG_SITE="$PWD/config.site" OPT="-DNDEBUG -fwrapv -O2 -w" CC="$CC" AR="$AR" RANLIB="$RANLIB" \
  CFLAGS="-O2 -w" CPPFLAGS="-I$PREFIX/include" LDFLAGS="-L$PREFIX/lib -s" LIBS="-lpthread" \
  ZLIB_CFLAGS="-I$PREFIX/include" ZLIB_LIBS="-L$PREFIX/lib -lz" \
  ./configure --host="$HOST_TRIPLE" --build=x86_64-pc-linux-gnu --with-build-python="$BUILD_PYTHON" \
  --prefix=/opt/zerolag/python --disable-shared --disable-test-modules --without-ensurepip \
  --with-openssl="$PREFIX" --with-openssl-rpath=no >/dev/null
: > Modules/Setup.stdlib
make -j"$JOBS" python >/dev/null
mkdir -p "$OUT/bin"
cp python "$OUT/bin/python3.11"
rm -rf "$OUT/Lib"
cp -R Lib "$OUT/Lib"
