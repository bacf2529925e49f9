#!/usr/bin/env bash
# Runs the README's two commands on a minimal Debian 12 exactly as a new user would:
# debootstrap --variant=minbase bookworm from the configured Debian mirror, a clone of the
# current commit, `scripts/demo.sh` and `scripts/test.sh` as root, then `scripts/demo.sh`
# as an ordinary user, then the fix that run printed (applied as root), then the demo again.
# Prints a summary with pass/fail and wall time per step and writes it to $work/summary.txt.
#
# Run as root on a Debian host with /dev/kvm. Too slow for every CI run (test.sh inside the
# root is the full suite); run it before changing the build, the dependencies or scripts/.
#
#   HVSHIM_FRESH_DIR     work folder (default /var/tmp/hvshim-fresh): root/, logs/, summary.txt,
#                        the cached debootstrap tarball and apt's package cache
#   HVSHIM_FRESH_MIRROR  Debian mirror (default: the first one in the host's apt sources)
#   HVSHIM_FRESH_STEPS   which steps to run (default "demo test user")
#
# The root is rebuilt from scratch on every run; only downloads are cached (the debootstrap
# tarball and /var/cache/apt/archives), so nothing installed survives between runs.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${HVSHIM_FRESH_DIR:-/var/tmp/hvshim-fresh}
steps=" ${HVSHIM_FRESH_STEPS:-demo test user} "
root=$work/root
logs=$work/logs
summary=$work/summary.txt
user=hvuser
suite=bookworm

die() { echo "fresh-check: $*" >&2; exit 2; }
((EUID == 0)) || die "run as root (it builds a chroot)"
[[ -c /dev/kvm ]] || die "/dev/kvm missing on this host"

host_mirror() {
  local uris
  uris=$(grep -hm1 '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | head -n1)
  [[ -n $uris ]] || uris=$(grep -hm1 '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}')
  echo "${uris:-http://deb.debian.org/debian}"
}
mirror=${HVSHIM_FRESH_MIRROR:-$(host_mirror)}

if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap ||
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap; }
fi

mkdir -p "$work" "$logs" "$work/apt-archives/partial"
rm -f "$logs"/*.log
: >"$summary.tmp"
status=0

unmount_root() {
  local m
  [[ -d $root ]] || return 0
  # Deepest first; -l because a leftover process in the root must not keep us from cleaning.
  for m in $(findmnt -rn -o TARGET | grep -F "$root/" | sort -r); do umount -l "$m" || true; done
  if findmnt -rn -o TARGET | grep -qF "$root/"; then die "mounts left under $root, not deleting it"; fi
}
trap unmount_root EXIT

# step NAME EXPECT COMMAND...: runs COMMAND with its output in logs/NAME.log and records
# pass/fail (EXPECT "ok": exit 0 passes; "fail": a non-zero exit passes) and the wall time.
step() {
  local name=$1 expect=$2; shift 2
  local t0 rc verdict
  t0=$(date +%s)
  echo "== $name"
  set +e
  (set -e; "$@") >"$logs/$name.log" 2>&1
  rc=$?
  set -e
  if [[ $expect == ok ]]; then ((rc == 0)) && verdict=pass || verdict=FAIL
  else ((rc != 0)) && verdict=pass || verdict=FAIL; fi
  [[ $verdict == pass ]] || status=1
  printf '%-44s %-4s exit %-3s %6ss\n' "$name" "$verdict" "$rc" "$(($(date +%s) - t0))" | tee -a "$summary.tmp"
  return 0
}

bootstrap() {
  local tarball=$work/$suite-minbase.tgz
  if [[ ! -s $tarball ]]; then
    rm -rf "$work/tarball-tmp"
    debootstrap --variant=minbase --make-tarball="$tarball.part" "$suite" "$work/tarball-tmp" "$mirror"
    mv "$tarball.part" "$tarball"
    rm -rf "$work/tarball-tmp"
  fi
  unmount_root
  rm -rf "$root"
  debootstrap --variant=minbase --unpack-tarball="$tarball" "$suite" "$root" "$mirror"
}

# The device nodes are made inside the root (not bind-mounted), so the root's fix (chgrp,
# chmod) changes only its own nodes and starts from the kernel default: root:root 0600.
prepare_root() {
  local dev
  for dev in kvm userfaultfd; do
    [[ -c /dev/$dev ]] || continue
    rm -f "$root/dev/$dev"
    mknod -m 0600 "$root/dev/$dev" c "$((0x$(stat -c %t /dev/$dev)))" "$((0x$(stat -c %T /dev/$dev)))"
  done
  mkdir -p "$root/dev/pts" "$root/dev/shm"
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
  mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
  mount --bind "$work/apt-archives" "$root/var/cache/apt/archives"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # The same apt sources as the host, as a Debian 12 installer would have written them.
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/"
    rm -f "$root/etc/apt/sources.list"
  fi
  chroot "$root" useradd -m -s /bin/bash "$user"
  local rev
  rev=$(git -C "$repo" rev-parse HEAD)
  git -C "$repo" diff --quiet HEAD || echo "fresh-check: uncommitted changes are not part of the check (commit $rev)" >&2
  # Cloned from the host: a fresh machine gets the repository from git, we from this commit.
  for home in root "home/$user"; do
    git clone -q --no-hardlinks "$repo" "$root/$home/hvshim"
    git -C "$root/$home/hvshim" checkout -q --detach "$rev"
  done
  chroot "$root" chown -R "$user:$user" "/home/$user/hvshim"
}

in_root() {  # in_root USER COMMAND: a login shell in the root's clone, clean environment
  local who=$1; shift
  if [[ $who == root ]]; then
    chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      bash -lc "cd ~/hvshim && $*"
  else
    chroot "$root" /usr/bin/env -i TERM=dumb PATH=/usr/sbin:/usr/bin:/sbin:/bin su -l "$who" -c "cd ~/hvshim && $*"
  fi
}

# The fix as printed: hvdemo and hvshim-info print each command to run as root on a line
# of its own, prefixed by "  # " (the root prompt).
apply_printed_fix() {
  local fix
  fix=$(grep -h '^  # ' "$logs/user-demo-before-fix.log" | sed 's/^  # //' | awk '!seen[$0]++')
  [[ -n $fix ]] || { echo "no fix printed"; return 1; }
  printf 'applying:\n%s\n' "$fix"
  # udev is not running in the root; the rule file is written but only the commands act now.
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin bash -exc "$fix"
}

t_start=$(date +%s)
{
  echo "fresh-check of $(git -C "$repo" log -1 --format='%h %s' | cut -c1-70)"
  echo "host: $(uname -r), $(nproc) CPUs; mirror $mirror; root $root"
} >"$summary.tmp"
step debootstrap ok bootstrap
if [[ -x $root/bin/bash ]]; then
  prepare_root >"$logs/prepare.log" 2>&1 || die "preparing the root failed, see $logs/prepare.log"
  [[ $steps == *" demo "* ]] && step root-demo ok in_root root scripts/demo.sh
  [[ $steps == *" test "* ]] && step root-test ok in_root root scripts/test.sh
  if [[ $steps == *" user "* ]]; then
    # The root's demo.sh already installed the packages; without it the user cannot.
    [[ $steps == *" demo "* ]] || step root-deps ok in_root root scripts/deps.sh
    step user-demo-before-fix fail in_root "$user" scripts/demo.sh
    grep -q '^  # ' "$logs/user-demo-before-fix.log" ||
      { status=1; echo "user-demo-before-fix: FAIL no fix printed" | tee -a "$summary.tmp"; }
    step user-apply-printed-fix ok apply_printed_fix
    step user-demo-after-fix ok in_root "$user" scripts/demo.sh
    grep -Eq '^  protection_path +userfaultfd' "$logs/user-demo-after-fix.log" ||
      { status=1; echo "user-demo-after-fix: FAIL not on the userfaultfd path" | tee -a "$summary.tmp"; }
  fi
fi
{
  echo "total $(($(date +%s) - t_start))s: $( ((status == 0)) && echo PASS || echo FAIL)  (logs: $logs)"
} >>"$summary.tmp"
mv "$summary.tmp" "$summary"
echo
cat "$summary"
exit "$status"
