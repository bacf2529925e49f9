#!/usr/bin/env bash
# packaging.deb: builds the Debian packages with cpack and checks them without installing
# anything on this machine:
#   * dpkg-deb --info: names, version, architecture, sections, Depends (shared-library
#     dependencies from dpkg-shlibdeps, exact-version libhvshim for -dev and -tools, and a
#     dependency for every library libhvshim.so.0 needs), shlibs and ldconfig in libhvshim
#   * dpkg-deb --contents: each file in exactly one package, where it belongs; together
#     exactly the files of a plain `cmake --install` (packaging.install)
#   * dpkg -x into a scratch root: the CMake and pkg-config consumers and the wrappers
#     build and run against the unpacked tree
#   * dpkg --root=<scratch>: install, then remove and purge, leaving nothing behind
. "$(dirname "$0")/lib.sh"
need_prefix
w=$(scratch deb)
ver=$HVSHIM_VERSION-1
arch=$(dpkg --print-architecture)

step "cpack -G DEB"
# cpack normally first builds the `preinstall` target (= everything) in the build tree. The
# test packages the tree as it was built and must not start a build while other tests run:
# CPACK_CMAKE_GENERATOR=Ninja names a generator without a preinstall step (only the
# generator-independent cmake_install.cmake scripts are used; no ninja is run).
"$CPACK" -G DEB --config "$HVSHIM_BINARY_DIR/CPackConfig.cmake" -B "$w/out" -D CPACK_CMAKE_GENERATOR=Ninja \
	>"$w/cpack.log" 2>&1 ||
	{ cat "$w/cpack.log"; fail "cpack"; }
cat "$w/cpack.log"
for pkg in libhvshim libhvshim-dev libhvshim-tools; do
	[ -f "$w/out/${pkg}_${ver}_${arch}.deb" ] || fail "${pkg}_${ver}_${arch}.deb not built: $(ls "$w/out")"
done
deb() { echo "$w/out/${1}_${ver}_${arch}.deb"; }
field() { dpkg-deb --field "$(deb "$1")" "$2"; }

step "dpkg-deb --info"
for pkg in libhvshim libhvshim-dev libhvshim-tools; do
	dpkg-deb --info "$(deb "$pkg")"
	[ "$(field "$pkg" Package)" = "$pkg" ] || fail "$pkg: Package field"
	[ "$(field "$pkg" Version)" = "$ver" ] || fail "$pkg: Version $(field "$pkg" Version)"
	[ "$(field "$pkg" Architecture)" = "$arch" ] || fail "$pkg: Architecture"
	[ -n "$(field "$pkg" Maintainer)" ] || fail "$pkg: no Maintainer"
	field "$pkg" Description | sed -n 2p | grep -q . || fail "$pkg: no extended description"
done
[ "$(field libhvshim Section)" = libs ] || fail "libhvshim: Section"
[ "$(field libhvshim-dev Section)" = libdevel ] || fail "libhvshim-dev: Section"
rt_depends=$(field libhvshim Depends)
echo "libhvshim Depends: $rt_depends"
has_dep() { # "<Depends>" <package>: is <package> one of the (versioned) entries?
	local IFS=','
	for e in $1; do
		e=${e# }
		[ "${e%% *}" = "$2" ] && return 0
	done
	return 1
}
for d in libc6 libstdc++6; do
	has_dep "$rt_depends" $d || fail "libhvshim does not depend on $d"
done
for pkg in libhvshim-dev libhvshim-tools; do
	grep -qF "libhvshim (= $ver)" <<<"$(field "$pkg" Depends)" || fail "$pkg does not depend on libhvshim (= $ver)"
done
# Every library libhvshim.so.0 needs is covered by a Depends (liburing only if linked).
sofile=$(ls "$HVSHIM_TEST_PREFIX"/lib/libhvshim.so.0.*)
for needed in $(objdump -p "$sofile" | awk '$1 == "NEEDED" { print $2 }'); do
	owner=$(dpkg -S "*-linux-gnu/$needed" 2>/dev/null | sed -n '1s/[:,].*//p') || true
	[ -n "$owner" ] || { echo "note: no package owns $needed"; continue; }
	echo "libhvshim.so.0 needs $needed from $owner"
	has_dep "$rt_depends" "$owner" || fail "libhvshim.so.0 needs $needed ($owner) but Depends lacks it"
done
control=$(dpkg-deb --ctrl-tarfile "$(deb libhvshim)" | tar -t)
grep -qx './shlibs' <<<"$control" || fail "libhvshim: no shlibs file"
grep -qx './postinst' <<<"$control" || fail "libhvshim: no postinst (ldconfig)"
shlibs=$(dpkg-deb --ctrl-tarfile "$(deb libhvshim)" | tar -xO ./shlibs)
echo "shlibs: $shlibs"
[ "$shlibs" = "libhvshim 0 libhvshim (>= $ver)" ] || fail "libhvshim: shlibs is '$shlibs'"

step "dpkg-deb --contents"
for pkg in libhvshim libhvshim-dev libhvshim-tools; do
	dpkg-deb --contents "$(deb "$pkg")" | awk '$1 !~ /^d/ { sub(/ -> .*/, ""); print $NF }' | sed 's|^\./usr/||' |
		sort >"$w/$pkg.files"
	echo "$pkg:"
	sed 's/^/  /' "$w/$pkg.files"
done
expect_in() { # package file...
	local pkg=$1
	shift
	for f in "$@"; do grep -qx "$f" "$w/$pkg.files" || fail "$f not in $pkg"; done
}
expect_in libhvshim lib/libhvshim.so.0 "lib/libhvshim.so.$HVSHIM_VERSION"
expect_in libhvshim-dev lib/libhvshim.so lib/libhvshim.a include/Hypervisor/hv.h include/hvshim/hvshim.h \
	lib/pkgconfig/hvshim.pc lib/cmake/hvshim/hvshimConfig.cmake lib/cmake/hvshim/hvshimTargets.cmake bin/hvshim-cc bin/hvshim-c++
expect_in libhvshim-tools bin/hvshim-info
for pkg in libhvshim libhvshim-dev libhvshim-tools; do expect_in $pkg share/doc/$pkg/copyright; done
[ "$(wc -l <"$w/libhvshim.files")" = 3 ] || fail "libhvshim should hold only the shared library and its copyright"
sort "$w"/*.files | uniq -d >"$w/dups"
[ ! -s "$w/dups" ] || fail "files in more than one package: $(cat "$w/dups")"
(cd "$HVSHIM_TEST_PREFIX" && find . -type f -o -type l) | sed 's|^\./||' | grep -vx .installed | sort >"$w/plain.files"
sort "$w"/lib*.files | grep -Evx 'share/doc/libhvshim(-dev|-tools)?/copyright' >"$w/packaged.files"
diff -u "$w/plain.files" "$w/packaged.files" ||
	fail "the packages differ from a plain install (- only installed, + only packaged): package new install rules in cmake/packaging.cmake"
pc=$(dpkg-deb --fsys-tarfile "$(deb libhvshim-dev)" | tar -xO ./usr/lib/pkgconfig/hvshim.pc)
# Relocatable: the prefix is found from the .pc file's own place (/usr/lib/pkgconfig).
grep -qxF 'prefix=${pcfiledir}/../..' <<<"$pc" ||
	fail "packaged hvshim.pc does not derive its prefix from its location"

step "dpkg -x into $w/root, build and run consumers against it"
for pkg in libhvshim libhvshim-dev libhvshim-tools; do dpkg -x "$(deb "$pkg")" "$w/root"; done
r=$w/root/usr
for pkg in libhvshim libhvshim-dev libhvshim-tools; do
	c=$r/share/doc/$pkg/copyright
	grep -qx 'Copyright: The hvshim authors' "$c" && grep -qx 'License: MIT' "$c" &&
		grep -q '^ Permission is hereby granted, free of charge' "$c" || fail "$pkg: copyright file is not MIT: $(cat "$c")"
done
# The static library ships without debug info (unstripped it is ~100 MB in a Debug build).
echo "libhvshim.a: $(stat -c %s "$r/lib/libhvshim.a") bytes packaged, $(stat -c %s "$HVSHIM_TEST_PREFIX/lib/libhvshim.a") installed"
! readelf -S --wide "$r/lib/libhvshim.a" | grep -q '\.debug_info' || fail "packaged libhvshim.a has debug info"
export LD_LIBRARY_PATH=$r/lib
"$CMAKE" -S "$HVSHIM_SOURCE_DIR/examples/consumer" -B "$w/cmake" -DCMAKE_PREFIX_PATH="$r" \
	-DCMAKE_C_COMPILER="$HVSHIM_TEST_CC" -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >"$w/cmake.log" ||
	{ cat "$w/cmake.log"; fail "configure consumer"; }
grep -q "hvshim_DIR:PATH=$r/" "$w/cmake/CMakeCache.txt" || fail "find_package(hvshim) did not use the unpacked tree"
"$CMAKE" --build "$w/cmake" >/dev/null || fail "build consumer (CMake)"
run_program "$w/cmake/consumer" || true
mkdir "$w/pc" && cp "$HVSHIM_SOURCE_DIR"/examples/consumer/{consumer.c,Makefile} "$w/pc/"
PKG_CONFIG_SYSROOT_DIR=$w/root PKG_CONFIG_LIBDIR=$r/lib/pkgconfig \
	make -C "$w/pc" CC="$HVSHIM_TEST_CC" CFLAGS="-O1 $san" LDFLAGS="$san" || fail "build consumer (pkg-config)"
run_program "$w/pc/consumer" || true
HVSHIM_CC="$HVSHIM_TEST_CC $san" "$r/bin/hvshim-cc" -o "$w/wrapped" "$HVSHIM_SOURCE_DIR/examples/consumer/consumer.c" \
	-framework Hypervisor || fail "build consumer (hvshim-cc from the unpacked tree)"
run_program "$w/wrapped" || true
"$r/bin/hvshim-info" >/dev/null || echo "note: hvshim-info reports that this host cannot run the API (status $?)"

step "dpkg --root: install and remove in a scratch dpkg database"
d=$w/dpkgroot
mkdir -p "$d/var/lib/dpkg/info" "$d/var/lib/dpkg/updates" "$d/var/lib/dpkg/triggers"
touch "$d/var/lib/dpkg/status" "$d/var/lib/dpkg/available"
# The maintainer scripts run chrootless, i.e. on this machine: give them an ldconfig that
# only records that it was called, so this machine's linker cache is left alone.
mkdir "$w/bin"
printf '#!/bin/sh\necho "$0 $*" >>"%s/ldconfig.calls"\n' "$w" >"$w/bin/ldconfig"
chmod +x "$w/bin/ldconfig"
dpkg_root() {
	PATH=$w/bin:$PATH dpkg --root="$d" --force-not-root --force-script-chrootless --force-depends --log=/dev/null "$@"
}
dpkg_root -i "$(deb libhvshim)" "$(deb libhvshim-dev)" "$(deb libhvshim-tools)" || fail "dpkg -i"
listed=$(dpkg_root -l)
[ "$(grep -Ec '^ii +libhvshim' <<<"$listed")" = 3 ] || fail "packages not installed: $listed"
[ -x "$d/usr/bin/hvshim-cc" ] && [ -e "$d/usr/lib/libhvshim.so.0" ] || fail "files not installed"
[ -s "$w/ldconfig.calls" ] || fail "libhvshim's postinst did not run ldconfig"
dpkg_root --purge libhvshim-tools libhvshim-dev libhvshim || fail "dpkg --purge"
left=$(cd "$d" && find . -not -type d -not -path './var/lib/dpkg/*')
[ -z "$left" ] || fail "left behind after purge: $left"
listed=$(dpkg_root -l 2>/dev/null || true)
! grep -Eq '^.i +libhvshim' <<<"$listed" || fail "packages still registered: $listed"
echo "packages ok"
