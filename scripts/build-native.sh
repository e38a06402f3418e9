#!/usr/bin/env bash
# Builds the static runtime helper: src/runtime/native/*.c -> build/native/denia-init.
# Missing toolchain or static libseccomp is a warning, not an error, so
# `npm ci` still succeeds on a development box; `denia doctor` then reports
# the helper as missing.
set -euo pipefail
cd "$(dirname "$0")/.."

src_dir=src/runtime/native
out_dir=build/native
out=$out_dir/denia-init

warn() {
  echo "build-native: WARNING: $*" >&2
  echo "build-native: the runtime helper was not built; install the packages and run 'npm run build:native'." >&2
  exit 0
}

cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || warn "no C compiler ($cc) found (Debian: apt-get install gcc libc6-dev)"

# Locate static libseccomp: pkg-config first, then the multiarch/lib dirs.
seccomp_cflags=""
seccomp_a=""
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libseccomp 2>/dev/null; then
  seccomp_cflags=$(pkg-config --cflags libseccomp)
  libdir=$(pkg-config --variable=libdir libseccomp)
  [ -f "$libdir/libseccomp.a" ] && seccomp_a="$libdir/libseccomp.a"
fi
if [ -z "$seccomp_a" ]; then
  multiarch=$("$cc" -print-multiarch 2>/dev/null || true)
  for dir in ${multiarch:+/usr/lib/$multiarch} /usr/lib64 /usr/lib /usr/local/lib; do
    if [ -f "$dir/libseccomp.a" ]; then seccomp_a="$dir/libseccomp.a"; break; fi
  done
fi
[ -n "$seccomp_a" ] || warn "static libseccomp (libseccomp.a) not found (Debian: apt-get install libseccomp-dev)"
echo '#include <seccomp.h>' | "$cc" $seccomp_cflags -E -x c - >/dev/null 2>&1 \
  || warn "seccomp.h not found (Debian: apt-get install libseccomp-dev)"

mkdir -p "$out_dir"
version=$(node -p 'require("./package.json").version' 2>/dev/null || echo dev)
tmp="$out.tmp.$$"
# shellcheck disable=SC2086
if ! "$cc" -std=gnu11 -O2 -Wall -Wextra -Werror -static \
    -DDENIA_VERSION="\"$version\"" $seccomp_cflags \
    -o "$tmp" "$src_dir"/*.c "$seccomp_a"; then
  rm -f "$tmp"
  if [ "${CI:-}" = "true" ]; then
    echo "build-native: ERROR: compiling the helper failed" >&2
    exit 1
  fi
  warn "compiling the helper failed (see the compiler output above)"
fi
strip "$tmp" 2>/dev/null || true
chmod 0755 "$tmp"
mv -f "$tmp" "$out"
echo "build-native: built $out"
