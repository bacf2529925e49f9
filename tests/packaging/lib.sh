# Sourced by the packaging tests.  Environment (set by tests/packaging/CMakeLists.txt):
#   HVSHIM_SOURCE_DIR HVSHIM_BINARY_DIR  the project's source and build trees
#   HVSHIM_TEST_WORK                     this test area's directory in the build tree
#   HVSHIM_TEST_PREFIX                   the scratch install prefix (packaging.install)
#   HVSHIM_TEST_CC HVSHIM_TEST_CXX       the compilers the project was built with
#   HVSHIM_TEST_SAN_FLAGS                -fsanitize=... when the project is sanitized
#   CMAKE CPACK HVSHIM_VERSION
set -euo pipefail

: "${HVSHIM_SOURCE_DIR:?run through ctest}"
san=${HVSHIM_TEST_SAN_FLAGS:-}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
step() { echo "== [${SECONDS}s] $*"; }

# Runs a program that exits 77 when /dev/kvm is unusable.  Prints its output; returns its
# status (0 or 77), fails the test on anything else.
run_program() {
	local rc=0
	"$@" || rc=$?
	case $rc in
	0 | 77) return $rc ;;
	*) fail "$* exited with $rc" ;;
	esac
}

# A fresh scratch directory for this test.
scratch() {
	local d=$HVSHIM_TEST_WORK/$1
	rm -rf "$d"
	mkdir -p "$d"
	echo "$d"
}

need_prefix() {
	[ -f "$HVSHIM_TEST_PREFIX/.installed" ] || fail "no installed tree at $HVSHIM_TEST_PREFIX (run packaging.install)"
}
