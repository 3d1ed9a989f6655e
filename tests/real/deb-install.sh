#!/usr/bin/env bash
# The .deb installed as an admin installs it, on a host where nothing is
# configured yet: the timer is enabled, its command and the cron line's
# command both succeed and say one quiet message between them, and the cron
# line stands aside while systemd runs the timer (never both).
#
#   sudo bash tests/real/deb-install.sh [PACKAGE.deb]
#
# Without an argument it takes the newest package .ci/deb.sh built. The
# package is installed with the real dpkg, maintainer scripts and all, into a
# throwaway copy of this root (an overlay in a private mount namespace, on a
# tmpfs), so nothing it installs outlives the test. Root is needed for that.
set -euo pipefail
cd "$(dirname "$0")/../.."

deb=${1:-$(ls -t "${CARGO_TARGET_DIR:-target}"/debian/tweet-attacks_*.deb 2>/dev/null | head -n 1)}
[ -n "$deb" ] && [ -f "$deb" ] || { echo "deb-install: no package (run .ci/deb.sh first, or name one)" >&2; exit 1; }
deb=$(realpath "$deb")

pass=0
fail=0
check() { # check WHAT CONDITION...
  local what=$1
  shift
  if "$@"; then
    echo "ok   $what"
    pass=$((pass + 1))
  else
    echo "FAIL $what"
    fail=$((fail + 1))
  fi
}

# One of the two schedulers is pulled in (cron first: apt installs it only
# when neither is there, as in a container without systemd).
depends=$(dpkg-deb -f "$deb" Depends)
check "Depends names cron or systemd-sysv ($depends)" \
  grep -Eq '(^|, )cron \| ([a-z-]+ \| )*systemd-sysv(,|$)' <<<"$depends"

if [ "$(id -u)" != 0 ] || ! unshare --mount true 2>/dev/null; then
  echo "deb-install: needs root and mount namespaces for the throwaway root" >&2
  exit 1
fi

# What runs inside the throwaway root, as root, after dpkg -i.
inside=$(mktemp)
trap 'rm -f "$inside"' EXIT
cat >"$inside" <<'INSIDE'
set -u
check() {
  local what=$1
  shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fi
}
# The timer's command, as systemd would run it (ExecStart, no shell).
timer_cmd=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/tweet-attacks.service)
# The cron line's command, with the file's own SHELL and PATH: the fields
# after the five times and the user.
cron_line=$(grep -E '^[^#A-Z].* root ' /etc/cron.d/tweet-attacks)
cron_cmd=$(printf '%s\n' "$cron_line" | sed -E 's/^([^ ]+ +){6}//')
cron_path=$(sed -n 's/^PATH=//p' /etc/cron.d/tweet-attacks)
timer() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin $timer_cmd </dev/null; }
cron() { env -i HOME=/root LOGNAME=root SHELL=/bin/sh PATH="$cron_path" ${offline:+SYSTEMD_OFFLINE=1} /bin/sh -c "$cron_cmd" </dev/null; }
offline=
state=/var/lib/tweet-attacks/state.json
fresh() { rm -f "$state" "$state".*; }

check "the timer is enabled" systemctl -q is-enabled tweet-attacks.timer
check "the timer's command runs only when configured ($timer_cmd)" \
  grep -q -- ' --if-configured$' <<<"$timer_cmd"
check "the cron line runs the same command as the timer" \
  grep -qF -- "&& $timer_cmd" <<<"$cron_cmd"
check "the state folder is root's only" \
  test "$(stat -c %a /var/lib/tweet-attacks)" = 700

# Without systemd running (as here): both commands run, as a host without
# systemd would run the cron line at each tick and an admin may start the service.
fresh
t_out=$(timer 2>&1); t_rc=$?
c_out=$(cron 2>&1); c_rc=$?
echo "     timer: exit $t_rc, said: ${t_out:-nothing}"
echo "     cron:  exit $c_rc, said: ${c_out:-nothing}"
said=$(printf '%s%s' "${t_out:+$t_out
}" "${c_out:+$c_out
}")
check "the timer's command succeeds" test "$t_rc" = 0
check "the cron line's command succeeds" test "$c_rc" = 0
check "one message between them" test "$(printf '%s' "$said" | grep -c .)" = 1
check "it says what is missing and where" \
  grep -q "not configured yet.*/etc/tweet-attacks.toml" <<<"$said"

# With systemd running and the timer enabled, the cron line stands aside.
# Here /run/systemd/system stands for a running systemd, and systemctl
# reads what is enabled from the disk (SYSTEMD_OFFLINE) as it would ask it.
mkdir -p /run/systemd/system
offline=1
fresh
c_out=$(cron 2>&1)
check "with the timer in charge, the cron line runs nothing" \
  test -z "$c_out" -a ! -e "$state"
# The admin who prefers cron disables the timer: the cron line runs again.
SYSTEMD_OFFLINE=1 systemctl -q disable tweet-attacks.timer
fresh
c_out=$(cron 2>&1); c_rc=$?
check "with the timer disabled, the cron line runs (exit $c_rc)" \
  test "$c_rc" = 0 -a -e "$state"
rmdir /run/systemd/system
offline=
systemctl -q enable tweet-attacks.timer 2>/dev/null

# Removal keeps the state; purge removes it and the timer's symlinks.
dpkg -r tweet-attacks >/dev/null
check "dpkg -r keeps the state" test -d /var/lib/tweet-attacks
check "dpkg -r leaves the kept cron line inert" \
  test -z "$(cron 2>&1)"
dpkg --purge tweet-attacks >/dev/null
check "purge removes the state" test ! -e /var/lib/tweet-attacks
check "purge removes the timer's symlink" \
  test ! -e /etc/systemd/system/timers.target.wants/tweet-attacks.timer
INSIDE

# The throwaway root: / under an overlay whose writes go to a tmpfs, in a
# mount namespace of its own; it vanishes with the namespace.
out=$(unshare --mount --propagation private --fork bash -s "$deb" "$inside" <<'SETUP'
set -euo pipefail
deb=$1
inside=$2
top=$(mktemp -d)
mount -t tmpfs tmpfs "$top"
mkdir "$top/upper" "$top/work" "$top/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$top/upper,workdir=$top/work" "$top/root"
for d in proc sys dev; do mount --rbind "/$d" "$top/root/$d"; done
mount -t tmpfs tmpfs "$top/root/run"
mount -t tmpfs tmpfs "$top/root/tmp"
cp "$deb" "$top/root/tmp/package.deb"
cp "$inside" "$top/root/tmp/inside.sh"
if dpkg -l tweet-attacks 2>/dev/null | grep -q '^ii'; then
  echo "     (tweet-attacks is installed on this host: the throwaway root replaces it)"
fi
chroot "$top/root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  dpkg -i /tmp/package.deb >/dev/null || { echo "FAIL dpkg -i"; exit 0; }
echo "ok   dpkg -i installs it, its dependencies met"
chroot "$top/root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin bash /tmp/inside.sh
SETUP
)
printf '%s\n' "$out"
pass=$((pass + $(grep -c '^ok ' <<<"$out" || true)))
fail=$((fail + $(grep -c '^FAIL ' <<<"$out" || true)))
[ -n "$out" ] || fail=$((fail + 1))
echo "deb-install: $pass passed, $fail failed"
[ "$fail" = 0 ]
