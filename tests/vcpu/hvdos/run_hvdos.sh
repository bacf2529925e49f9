#!/bin/sh
# Builds mist64/hvdos unmodified against hvshim and runs two .COM programs
# (hello world, file I/O) written for this test.
#
#   HVDOS_SRC=/path/to/hvdos  tests/vcpu/hvdos/run_hvdos.sh [HVSHIM_BUILD_DIR]
#
# hvdos is not part of this repository: fetch it yourself
# (https://github.com/mist64/hvdos). Without HVDOS_SRC the script skips
# (exit 77). With pkg-config knowing `hvshim` (an installed hvshim) that is
# used; otherwise the headers of this checkout and the library of the build
# directory given as $1 (default: build-vcpu next to the sources).
# HVDOS_EXTRA_FLAGS is appended to the compile line (e.g. -fsanitize=... when
# the library was built with sanitizers).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
if [ -z "${HVDOS_SRC:-}" ]; then
  echo "SKIP: set HVDOS_SRC to a checkout of https://github.com/mist64/hvdos" >&2
  exit 77
fi
build=${1:-$repo/build-vcpu}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if pkg-config --exists hvshim 2>/dev/null && [ -z "${HVSHIM_USE_BUILD:-}" ]; then
  flags=$(pkg-config --cflags --libs hvshim)
else
  flags="-I$repo/include -L$build/src -lhvshim -Wl,-rpath,$build/src"
fi
# hvdos's sources are compiled exactly as its Makefile does (.c as C++);
# libstdc++ needs <algorithm>/<cstring> spelled out where libc++ did not.
# shellcheck disable=SC2086
g++ -std=c++11 -w -include algorithm -include cstring -x c++ \
  "$HVDOS_SRC/DOSKernel.cpp" "$HVDOS_SRC/hvdos.c" -o "$work/hvdos" $flags -lpthread ${HVDOS_EXTRA_FLAGS:-}

for p in hello fileio; do
  as --32 -o "$work/$p.o" "$here/$p.S"
  ld -m elf_i386 -Ttext=0x100 --oformat=binary -o "$work/$p.com" "$work/$p.o"
done

cd "$work"
out=$(./hvdos hello.com 2>/dev/null)
echo "hello.com: $out"
case "$out" in
  *"Hello, world from hvdos on hvshim!"*) ;;
  *) echo "FAIL: hello.com output" >&2; exit 1 ;;
esac
out=$(./hvdos fileio.com 2>/dev/null)
echo "fileio.com: $out"
case "$out" in
  *"file I/O through INT 21h works"*) ;;
  *) echo "FAIL: fileio.com output" >&2; exit 1 ;;
esac
[ "$(cat HVSHIM.TXT)" = "file I/O through INT 21h works" ] || { echo "FAIL: HVSHIM.TXT content" >&2; exit 1; }
echo "PASS: hvdos runs hello.com and fileio.com"
