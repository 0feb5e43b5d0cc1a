#!/bin/sh
# zerolag extension launcher (installed as /opt/extensions/zerolag by the layer).
#
# Runs the extension's entry point with `python3 -S` on the runtime's own interpreter, with the layer's private package
# directory (<layer root>/zerolag/lib) as the only PYTHONPATH entry, so the function's sys.path is never
# touched. The layer root is found relative to this script, so it works wherever the layer is mounted.
# Where the runtime has no Python 3.10+ (Node.js, Java, .NET, provided.al2023), the any-runtime layer's own
# CPython (<layer root>/zerolag/python, docs/layer.md) runs it; without one (the Python-runtime layer), it
# reports a clear /extension/init/error with the error type Extension.NoPython instead of letting Init hang
# or fail obscurely.
# Only shell builtins are used on the fast path (no dirname/readlink processes).

case "$0" in
  */*) here=${0%/*} ;;
  *) here=. ;;
esac
# No command substitution (each one forks a subshell): cd there and back.
start_dir=$PWD
cd -P "$here/.." || exit 1
root=$PWD
cd "$start_dir" 2>/dev/null || cd /
lib="$root/zerolag/lib"
bundled="$root/zerolag/python"
py=

# Succeeds when $1 is a Python >= 3.10, judged by its name where that says the version, else by asking it.
usable() {
  case "${1##*/}" in
    python3.1[0-9]|python3.[2-9][0-9]) return 0 ;;
  esac
  "$1" -S -c 'import sys; sys.exit(sys.version_info[:2] < (3, 10))' >/dev/null 2>&1
}

# Sets candidate to the first executable $1 on PATH (builtins only: no `command -v` subshell).
on_path() {
  saved_ifs=$IFS
  IFS=:
  set -f
  for dir in $PATH; do
    if [ -x "${dir:-.}/$1" ] && [ ! -d "${dir:-.}/$1" ]; then
      candidate="${dir:-.}/$1"
      IFS=$saved_ifs
      set +f
      return 0
    fi
  done
  IFS=$saved_ifs
  set +f
  return 1
}

# Sets py to the interpreter to use, or fails.
find_python() {
  if [ -x /var/lang/bin/python3 ]; then
    # A Lambda Python runtime: this is the interpreter the function runs on.
    py=/var/lang/bin/python3
    return 0
  fi
  # Versioned names first: their version is known without starting a python to ask it (~10-30 ms).
  for name in python3.14 python3.13 python3.12 python3.11 python3.10 python3; do
    on_path "$name" || continue
    if usable "$candidate"; then
      py=$candidate
      return 0
    fi
  done
  return 1
}

if ! find_python && [ -x "$bundled/bin/python3.11" ]; then
  # The bundled interpreter: its standard library is $bundled/lib/python3.11 (PYTHONHOME says where).
  # Its OpenSSL looks for CA certificates in /etc/pki/tls (Amazon Linux); elsewhere point it at the usual file.
  py="$bundled/bin/python3.11"
  PYTHONHOME="$bundled"
  export PYTHONHOME
  if [ -z "${SSL_CERT_FILE:-}" ] && [ ! -e /etc/pki/tls/cert.pem ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
    export SSL_CERT_FILE
  fi
fi

if [ -n "${py:-}" ]; then
  PYTHONPATH="$lib"
  PYTHONDONTWRITEBYTECODE=1
  export PYTHONPATH PYTHONDONTWRITEBYTECODE
  # -S: no site module. The extension uses the standard library only, and skipping site (and every .pth
  # file in the runtime's site-packages) saves milliseconds of cold start (~50 ms with a pyenv python here).
  # -c rather than -m: -m loads runpy and importlib.util first (6-11 ms of cold start measured here).
  exec "$py" -S -c 'import sys; from zerolag.extension.__main__ import main; sys.exit(main())' "$@"
fi

message="zerolag: no Python 3.10+ interpreter found (looked for /var/lang/bin/python3 and python3/python3.1x on PATH); the zerolag extension needs a Python runtime"
echo "$message" >&2

# Report the failure over the Extensions API with bash's /dev/tcp (builtins only), so Init fails with a clear
# error type: register, then /extension/init/error.
if [ -n "${AWS_LAMBDA_RUNTIME_API:-}" ] && command -v bash >/dev/null 2>&1; then
  ZEROLAG_MESSAGE="$message" bash -c '
    api=$AWS_LAMBDA_RUNTIME_API
    post() { # path body header... ; prints the value of the Lambda-Extension-Identifier response header
      path=$1 body=$2; shift 2
      exec 3<>"/dev/tcp/${api%:*}/${api##*:}" || return 1
      {
        printf "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n" "$path" "$api"
        printf "Content-Length: %s\r\nConnection: close\r\n" "${#body}"
        for header in "$@"; do printf "%s\r\n" "$header"; done
        printf "\r\n%s" "$body"
      } >&3
      while IFS= read -r line <&3; do
        line=${line%$'\''\r'\''}
        [ -z "$line" ] && break
        case "${line,,}" in
          lambda-extension-identifier:*) id=${line#*:}; printf "%s" "${id// /}" ;;
        esac
      done
      exec 3<&-
    }
    id=$(post /2020-01-01/extension/register "{\"events\":[]}" "Lambda-Extension-Name: zerolag")
    [ -n "$id" ] || exit 0
    post /2020-01-01/extension/init/error \
      "{\"errorMessage\":\"$ZEROLAG_MESSAGE\",\"errorType\":\"Extension.NoPython\"}" \
      "Lambda-Extension-Identifier: $id" "Lambda-Extension-Function-Error-Type: Extension.NoPython" >/dev/null
  '
fi
exit 1
