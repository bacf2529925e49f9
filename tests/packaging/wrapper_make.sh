#!/usr/bin/env bash
# packaging.wrapper_make: `make CC=hvshim-cc CXX=hvshim-c++` on a macOS-style Makefile
# (tests/packaging/macos-vmm: -arch, -mmacosx-version-min, -framework Hypervisor,
# CoreFoundation and IOKit; one C and one C++ file including <Hypervisor/hv.h>; and
# examples/mirrored-ring, whose Mach calls are linked without any -framework flag), then runs
# both programs.  The wrappers come from the scratch prefix and are found through PATH.
. "$(dirname "$0")/lib.sh"
need_prefix
w=$(scratch wrapper-make)
cp "$HVSHIM_SOURCE_DIR"/tests/packaging/macos-vmm/* "$HVSHIM_SOURCE_DIR"/examples/mirrored-ring/mirrored_ring.c "$w/"
export PATH=$HVSHIM_TEST_PREFIX/bin:$PATH
# The compilers this tree was built with (and its sanitizer flags) behind the wrappers.
export HVSHIM_CC="$HVSHIM_TEST_CC $san" HVSHIM_CXX="$HVSHIM_TEST_CXX $san" HVSHIM_CC_VERBOSE=1
step "make CC=hvshim-cc CXX=hvshim-c++"
make -C "$w" CC=hvshim-cc CXX=hvshim-c++ || fail "make"
for exe in vmm ring; do
	grep -q 'NEEDED.*libhvshim.so.0' <<<"$(readelf -d "$w/$exe")" || fail "$exe does not record libhvshim.so.0"
done
step "make again: nothing to do (dependency files from -MMD work)"
make -C "$w" CC=hvshim-cc CXX=hvshim-c++ -q || fail "second make would rebuild"
step "run"
"$w/ring" || fail "ring"
run_program "$w/vmm"
