#!/bin/sh
# Peak RSS on logs an attacker writes to be expensive: user names as long as
# a line may be (64 KiB), and as long as rsyslog lets through (7.9 KB).
# Prints one row per input and command: peak RSS from GNU time (Debian
# package "time"). doc/REFERENCE.md promises under 64 MiB whatever the input.
#
#   bench/hostile_rss.sh [path/to/tweet-attacks]
set -eu
bin=${1:-target/release/tweet-attacks}
bin=$(realpath "$bin")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
python3 - <<'PY'
# Distinct addresses and pids, so that nothing is merged away early.
def write(name, lines, name_len):
    with open(name, "w") as f:
        for i in range(lines):
            user = ("u%d-" % i).ljust(name_len, "x")
            ip = "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)
            f.write("Nov 26 10:%02d:%02d web01 sshd[%d]: Invalid user %s from %s port 22\n"
                    % (i // 60 % 60, i % 60, 1000 + i, user, ip))
write("names64k.log", 6000, 64 * 1024 - 100)
write("names8k.log", 50000, 7900)
PY
# A log named explicitly must exist: an empty vsftpd log, as on a quiet FTP host.
: >none.log
printf '%-14s %-8s %10s %8s\n' input command "peak RSS" seconds
for log in names64k.log names8k.log; do
    for cmd in replay run; do
        rm -f state.json*
        case $cmd in
        replay) set -- "$bin" replay "$log" ;;
        run) set -- "$bin" run --state state.json --auth-log "$log" --vsftpd-log none.log --sink stdout \
                --now 2026-11-26T12:00:00Z ;;
        esac
        /usr/bin/time -f '%M %e' -o time.txt "$@" >/dev/null 2>err.txt || { cat err.txt >&2; exit 1; }
        read -r kb secs <time.txt
        printf '%-14s %-8s %7d MiB %8s\n' "$log" "$cmd" $((kb / 1024)) "$secs"
    done
done
