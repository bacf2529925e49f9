#!/usr/bin/env bash
# packaging.install: installs the build tree into a scratch prefix (the fixture of the
# consumer and wrapper tests) and checks the layout a consumer relies on.
. "$(dirname "$0")/lib.sh"
p=$HVSHIM_TEST_PREFIX
rm -rf "$p"
step "cmake --install $HVSHIM_BINARY_DIR --prefix $p"
"$CMAKE" --install "$HVSHIM_BINARY_DIR" --prefix "$p" >"$HVSHIM_TEST_WORK/install.log" ||
	{ cat "$HVSHIM_TEST_WORK/install.log"; fail "install"; }

for f in include/Hypervisor/hv.h include/Hypervisor/Hypervisor.h include/hvshim/hvshim.h \
	lib/libhvshim.so lib/libhvshim.so.0 lib/libhvshim.a lib/pkgconfig/hvshim.pc \
	lib/cmake/hvshim/hvshimConfig.cmake lib/cmake/hvshim/hvshimConfigVersion.cmake \
	lib/cmake/hvshim/hvshimTargets.cmake bin/hvshim-cc bin/hvshim-c++ bin/hvshim-info; do
	[ -e "$p/$f" ] || fail "$f not installed"
done
[ -x "$p/bin/hvshim-cc" ] && [ -x "$p/bin/hvshim-c++" ] || fail "wrappers not executable"
[ "$(readlink "$p/lib/libhvshim.so")" = libhvshim.so.0 ] || fail "libhvshim.so should link to libhvshim.so.0"
soname=$(objdump -p "$p/lib/libhvshim.so.0" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = libhvshim.so.0 ] || fail "SONAME is '$soname'"
touch "$p/.installed"
find "$p" -type f -o -type l | sed "s|^$p/||" | sort
