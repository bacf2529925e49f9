#!/usr/bin/env bash
# packaging.consumer_*: builds examples/consumer out of tree against the installed prefix
# and runs it.
#   consumer.sh cmake         find_package(hvshim) + hvshim::hvshim (CMAKE_PREFIX_PATH)
#   consumer.sh cmake-static  the same with hvshim::hvshim_static
#   consumer.sh pkg-config    examples/consumer/Makefile (PKG_CONFIG_PATH)
#   consumer.sh nokvm         the CMake build run with HVSHIM_KVM_DEVICE pointing nowhere:
#                             must report "skipped" with the reason and exit 77
. "$(dirname "$0")/lib.sh"
need_prefix
mode=$1
p=$HVSHIM_TEST_PREFIX
src=$HVSHIM_SOURCE_DIR/examples/consumer
w=$(scratch "consumer-$mode")

build_cmake() { # extra cmake args...
	step "configure + build examples/consumer with CMake ($*)"
	"$CMAKE" -S "$src" -B "$w/build" -DCMAKE_PREFIX_PATH="$p" -DCMAKE_C_COMPILER="$HVSHIM_TEST_CC" \
		-DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" "$@" >"$w/configure.log" ||
		{ cat "$w/configure.log"; fail "configure"; }
	grep -q "hvshim_DIR:PATH=$p/" "$w/build/CMakeCache.txt" || fail "find_package(hvshim) did not use $p"
	"$CMAKE" --build "$w/build" --verbose || fail "build"
}

case $mode in
cmake)
	build_cmake
	deps=$(ldd "$w/build/consumer")
	grep -q "libhvshim.so.0 => $p/lib/" <<<"$deps" || fail "consumer does not load $p/lib/libhvshim.so.0"
	run_program "$w/build/consumer"
	;;
cmake-static)
	build_cmake -DCONSUMER_STATIC=ON
	deps=$(ldd "$w/build/consumer")
	! grep -q libhvshim <<<"$deps" || fail "statically linked consumer loads libhvshim.so"
	run_program "$w/build/consumer"
	;;
pkg-config)
	step "make -f examples/consumer/Makefile with PKG_CONFIG_PATH=$p/lib/pkgconfig"
	cp "$src/consumer.c" "$src/Makefile" "$w/"
	# The installed hvshim.pc names the prefix the build tree was configured with; the
	# scratch install moved it, so let pkg-config derive the prefix from the file's place.
	export PKG_CONFIG_PATH=$p/lib/pkgconfig
	pc="pkg-config --define-prefix"
	echo "pkg-config --cflags --libs hvshim: $($pc --cflags --libs hvshim)"
	[ "$($pc --modversion hvshim)" = "$HVSHIM_VERSION" ] || fail "pkg-config version"
	make -C "$w" PKG_CONFIG="$pc" CC="$HVSHIM_TEST_CC" CFLAGS="-O1 -g -Wall -Wextra -Werror $san" LDFLAGS="$san" ||
		fail "make"
	LD_LIBRARY_PATH=$p/lib run_program "$w/consumer"
	;;
nokvm)
	build_cmake
	rc=0
	out=$(HVSHIM_KVM_DEVICE=$w/no-such-device "$w/build/consumer" 2>&1) || rc=$?
	echo "$out"
	[ "$rc" = 77 ] || fail "expected exit status 77 without a KVM device, got $rc"
	# The reason comes from hvshim_last_error(): the missing path, then what to do.
	grep -Eq "^skipped: .*\\($w/no-such-device does not exist" <<<"$out" || fail "the skip message should give the reason"
	;;
*) fail "unknown mode $mode" ;;
esac
