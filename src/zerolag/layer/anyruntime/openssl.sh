#!/bin/sh
# Build static libssl/libcrypto for the bundled CPython's ssl and hashlib (docs/layer.md). Only what TLS 1.2/1.3
# clients and hashlib need: no engines, no dynamic modules, no legacy or national ciphers, no DTLS, no CMS/CMP/TS.
# OPENSSLDIR is /etc/pki/tls, where Amazon Linux keeps its CA bundle (the launcher also sets SSL_CERT_FILE).
# Inputs: SRC, PREFIX, CC/AR/RANLIB, JOBS, OPENSSL_TARGET (linux-x86_64 | linux-aarch64).
set -eu
cd "$SRC"
CC="$CC" AR="$AR" RANLIB="$RANLIB" ./Configure "$OPENSSL_TARGET" --prefix="$PREFIX" --libdir=lib \
  --openssldir=/etc/pki/tls -O2 -w \
  no-shared no-tests no-engine no-dso no-module no-comp no-legacy no-ui-console no-afalgeng no-autoload-config \
  no-ssl3 no-weak-ssl-ciphers no-dtls no-sctp no-srtp no-ssl-trace no-ct no-ocsp no-cms no-ts no-cmp \
  no-rfc3779 no-srp no-gost no-camellia no-idea no-seed no-bf no-cast no-des no-rc2 no-rc4 no-rc5 no-md4 no-mdc2 \
  no-whirlpool no-sm2 no-sm3 no-sm4 no-aria no-siphash no-ocb no-scrypt no-ec2m no-dsa >/dev/null
make -j"$JOBS" build_libs >/dev/null
make install_dev >/dev/null
