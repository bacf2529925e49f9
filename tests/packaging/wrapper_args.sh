#!/usr/bin/env bash
# packaging.wrapper_args: what hvshim-cc / hvshim-c++ (installed in the scratch prefix)
# pass to the compiler, checked with a fake compiler that prints its arguments, then two
# real links to check the implicit "as needed" -lhvshim.
. "$(dirname "$0")/lib.sh"
need_prefix
p=$HVSHIM_TEST_PREFIX
w=$(scratch wrapper-args)
inc="-I$p/include"
linkflags="-L$p/lib -Wl,-rpath,$p/lib -lhvshim -lpthread"
asneeded="-L$p/lib -Wl,-rpath,$p/lib -Wl,--push-state,--as-needed -lhvshim -Wl,--pop-state"

cat >"$w/fakecc" <<'FAKE'
#!/bin/sh
printf '%s\n' "$(basename "$0")" "$@"
FAKE
chmod +x "$w/fakecc"
cp "$w/fakecc" "$w/fakecxx"
export HVSHIM_CC=$w/fakecc HVSHIM_CXX=$w/fakecxx

# expect <wrapper> <expected arguments, one string> -- <wrapper arguments...>
expect() {
	local wrapper=$1 want=$2
	shift 3
	local got
	got=$("$p/bin/$wrapper" "$@" | tr '\n' ' ' | sed 's/ $//') || fail "$wrapper $* failed"
	[ "$got" = "$want" ] || fail "$wrapper $*
  got:  $got
  want: $want"
	echo "ok: $wrapper $*"
}
# expect_error <wrapper> <message part> -- <wrapper arguments...>
expect_error() {
	local wrapper=$1 msg=$2 out rc=0
	shift 3
	out=$("$p/bin/$wrapper" "$@" 2>&1) || rc=$?
	[ "$rc" = 2 ] || fail "$wrapper $*: expected status 2, got $rc ($out)"
	grep -qF -- "$msg" <<<"$out" || fail "$wrapper $*: message '$out' lacks '$msg'"
	echo "ok: $wrapper $* -> $out"
}

step "compile-only: -I only, frameworks consumed"
expect hvshim-cc "fakecc -c vmm.c -o vmm.o $inc" -- -c vmm.c -o vmm.o -framework Hypervisor
expect hvshim-cc "fakecc -E vmm.c $inc" -- -E vmm.c
expect hvshim-cc "fakecc -S vmm.c $inc" -- -S vmm.c
expect hvshim-cc "fakecc -M vmm.c $inc" -- -M vmm.c
expect hvshim-cc "fakecc -MM vmm.c $inc" -- -MM vmm.c -framework Hypervisor
expect hvshim-cc "fakecc -fsyntax-only vmm.c $inc" -- -fsyntax-only vmm.c
expect hvshim-cc "fakecc --version $inc" -- --version
expect hvshim-cc "fakecc -v $inc" -- -v

step "link: -framework Hypervisor becomes the library; ignorable frameworks vanish"
expect hvshim-cc "fakecc -o vmm vmm.o $inc $linkflags" -- -framework Hypervisor -o vmm vmm.o
expect hvshim-cc "fakecc -o vmm vmm.o $inc $linkflags" -- \
	-framework CoreFoundation -framework Hypervisor -framework IOKit -framework vmnet -o vmm vmm.o
expect hvshim-cc "fakecc vmm.o $inc $linkflags" -- -weak_framework Hypervisor vmm.o
expect hvshim-cc "fakecc vmm.o $inc $linkflags" -- -Wl,-framework,Hypervisor vmm.o -Wl,-framework,Security
expect hvshim-cc "fakecc vmm.o $inc $linkflags" -- -F/Library/Frameworks -F /System/Library/Frameworks -framework Hypervisor vmm.o
step "-MMD/-MF do not stop the link; values of -o/-MF/-Xlinker are not inputs"
expect hvshim-cc "fakecc -MMD -MF vmm.d vmm.c $inc $linkflags" -- -MMD -MF vmm.d vmm.c -framework Hypervisor
expect hvshim-cc "fakecc -o out -Xlinker -Map=x $inc" -- -o out -Xlinker -Map=x
step "macOS-only flags"
expect hvshim-cc "fakecc -O2 vmm.o $inc $linkflags" -- -arch x86_64 -mmacosx-version-min=10.15 -O2 vmm.o -framework Hypervisor
expect_error hvshim-cc "-arch arm64" -- -arch arm64 vmm.o
step "unknown frameworks are an error, unless listed in HVSHIM_CC_IGNORE_FRAMEWORKS"
expect_error hvshim-cc "HVSHIM_CC_IGNORE_FRAMEWORKS" -- -framework Cocoa -framework Hypervisor vmm.o
HVSHIM_CC_IGNORE_FRAMEWORKS="Metal Cocoa" expect hvshim-cc "fakecc vmm.o $inc $linkflags" -- \
	-framework Cocoa -framework Hypervisor vmm.o
expect_error hvshim-cc "needs a framework name" -- vmm.o -framework
step "arguments with blanks and quotes survive"
expect hvshim-cc "fakecc -DMSG=\"a b\" -c x.c $inc" -- '-DMSG="a b"' -c x.c
[ "$("$p/bin/hvshim-cc" '-DX=a  b' -c x.c | sed -n 2p)" = "-DX=a  b" ] || fail "argument with two blanks split"
step "without -framework: -lhvshim only as needed (Mach calls need no framework on macOS)"
expect hvshim-cc "fakecc -o tool tool.o $inc $asneeded" -- -o tool tool.o
HVSHIM_CC_IMPLICIT=0 expect hvshim-cc "fakecc -o tool tool.o $inc" -- -o tool tool.o
step "hvshim-c++ uses HVSHIM_CXX; a symlink to the wrapper still finds the prefix"
expect hvshim-c++ "fakecxx -o vmm vmm.o $inc $linkflags" -- -o vmm vmm.o -framework Hypervisor
ln -s "$p/bin/hvshim-c++" "$w/my-c++"
got=$("$w/my-c++" -c x.cpp | tr '\n' ' ')
[ "$got" = "fakecxx -c x.cpp $inc " ] || fail "symlinked wrapper: $got"
step "HVSHIM_CC may hold a command with arguments"
got=$(HVSHIM_CC="$w/fakecc -m64" "$p/bin/hvshim-cc" -c x.c | tr '\n' ' ')
[ "$got" = "fakecc -m64 -c x.c $inc " ] || fail "HVSHIM_CC with arguments: $got"

step "real links: the library is recorded only when used"
export HVSHIM_CC="$HVSHIM_TEST_CC $san" HVSHIM_CXX="$HVSHIM_TEST_CXX $san"
cat >"$w/plain.c" <<'C'
#include <stdio.h>
int main(void) { puts("plain"); return 0; }
C
cat >"$w/uses.c" <<'C'
#include <Hypervisor/hv.h>
#include <stdio.h>
int main(void) { uint64_t n = 0; printf("%d\n", hv_capability(HV_CAP_ADDRSPACEMAX, &n) == HV_SUCCESS); return 0; }
C
"$p/bin/hvshim-cc" -o "$w/plain" "$w/plain.c"
"$p/bin/hvshim-cc" -o "$w/uses" "$w/uses.c"
! grep -q 'NEEDED.*libhvshim' <<<"$(readelf -d "$w/plain")" || fail "plain program records libhvshim"
grep -q 'NEEDED.*libhvshim' <<<"$(readelf -d "$w/uses")" || fail "program using hv_capability does not record libhvshim"
"$w/plain" >/dev/null && "$w/uses" >/dev/null || fail "running the linked programs"
echo "all wrapper checks passed"
