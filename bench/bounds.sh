#!/usr/bin/env bash
# The figures of issue 20 ("bounded under a burst"), for one build:
#   1. a burst of 100,000 one-line attackers, each its own pid and none
#      closed, then 20 idle runs: time of each, and how much each adds;
#   2. 100 idle runs on an empty table: how much they add;
#   3. N due attackers at once (six tries each from N distinct IPv6 /64s,
#      65,536 to a /48), N = 10k 20k 40k 80k, posted to stdout: time,
#      peak RSS, state size; and 40k with X unreachable, two runs;
#   4. 1 million `Invalid user` lines, each its own pid, from 200
#      addresses: time, peak RSS, state size, and what each idle run adds.
#
#   bench/bounds.sh [path/to/tweet-attacks]     (default: target/release/tweet-attacks, built)
#
# Knobs: BENCH_DUE (default "10000 20000 40000 80000"), BENCH_IDLE (20).
# Needs python3 and GNU time (Debian package "time") for the peak RSS.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ $# -gt 0 ]]; then
    bin=$(realpath "$1")
else
    (cd "$root" && cargo build --release --quiet)
    bin=$root/target/release/tweet-attacks
fi
due_sizes=${BENCH_DUE:-10000 20000 40000 80000}
idle=${BENCH_IDLE:-20}
# The logs' lines are from 10:00 on 26 November; every run is five minutes
# after the last of them, well inside the connections' window by the wall clock.
export TZ=UTC LC_ALL=C TWEET_ATTACKS_NOW=2026-11-26T10:05:00Z
work=$(mktemp -d "${TMPDIR:-/tmp}/tweet-attacks-bounds.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

python3 - "$due_sizes" <<'PY'
import sys
def stamp(s):
    return "Nov 26 10:%02d:%02d" % (s // 60, s % 60)
# 100,000 attackers, one line each from its own pid: 100,000 open connections.
with open("burst.log", "w") as f:
    for i in range(100_000):
        f.write("%s web01 sshd[%d]: Failed password for root from 10.%d.%d.%d port 22 ssh2\n"
                % (stamp(i // 2000), 100_000 + i, i >> 16 & 255, i >> 8 & 255, i & 255))
# N attackers of six tries each, one connection each, in /64s of consecutive /48s.
for n in map(int, sys.argv[1].split()):
    with open("due-%d.log" % n, "w") as f:
        for i in range(n):
            ip = "2001:db8:%x:%x::1" % (i >> 16, i & 0xFFFF)
            for k in range(6):
                f.write("%s web01 sshd[%d]: Failed password for root from %s port 22 ssh2\n"
                        % (stamp(i * 60 // n), 10_000 + i, ip))
# 1,000,000 lines, each its own pid, from 200 addresses, within 100 seconds.
with open("million.log", "w") as f:
    for i in range(1_000_000):
        f.write("%s web01 sshd[%d]: Invalid user admin from 198.51.%d.%d port 22\n"
                % (stamp(i // 10_000), 1000 + i, 100 + i % 2, i % 100))
PY
: >empty.log

size() { stat -c %s "$1"; }
# Runs `tweet-attacks run` on LOG with STATE; sets secs, cpu (user + system
# seconds: steadier than secs on a shared machine) and kib (peak RSS).
run() { # STATE LOG [ARGS...]
    local state=$1 log=$2
    shift 2
    /usr/bin/time -f '%e %M %U %S' -o time.txt "$bin" run --sink "${SINK:-stdout}" --state "$state" \
        --auth-log "$log" --vsftpd-log empty.log "$@" >/dev/null 2>err.txt || {
        [[ ${ALLOW_FAIL:-0} == 1 ]] || { cat err.txt >&2; exit 1; }
    }
    # GNU time says first when the command failed; the figures are its last line.
    read -r secs kib usr sys < <(tail -n 1 time.txt)
    cpu=$(python3 -c "print($usr + $sys)")
}
# `run` N times on an unchanged log; prints the mean and worst time and the growth.
idle_runs() { # N STATE LOG
    local n=$1 state=$2 log=$3 before total=0 worst=0 total_cpu=0
    before=$(size "$state")
    for ((k = 0; k < n; k++)); do
        run "$state" "$log"
        total=$(python3 -c "print($total + $secs)")
        total_cpu=$(python3 -c "print($total_cpu + $cpu)")
        worst=$(python3 -c "print(max($worst, $secs))")
    done
    local after
    after=$(size "$state")
    printf '  %d idle runs: mean %.3f s (cpu %.3f s), worst %.2f s; state %d -> %d bytes, +%d bytes (%d a run)\n' \
        "$n" "$(python3 -c "print($total / $n)")" "$(python3 -c "print($total_cpu / $n)")" "$worst" \
        "$before" "$after" $((after - before)) $(((after - before) / n))
}

echo "tweet-attacks: $bin"
echo
echo "== burst: 100,000 one-line attackers, each its own pid, none closed"
mkdir burst
run burst/state.json burst.log
printf '  the burst run: %.2f s (cpu %.2f s), %d MiB; state %d bytes\n' "$secs" "$cpu" $((kib / 1024)) "$(size burst/state.json)"
idle_runs "$idle" burst/state.json burst.log

echo
echo "== empty table: 100 idle runs"
mkdir empty
run empty/state.json empty.log
idle_runs 100 empty/state.json empty.log

echo
echo "== due attackers at once: six tries each from N distinct IPv6 /64s, to stdout"
printf '  %8s %8s %8s %10s %14s\n' N seconds cpu "peak RSS" "state bytes"
for n in $due_sizes; do
    mkdir "due-$n"
    run "due-$n/state.json" "due-$n.log"
    printf '  %8d %8.2f %8.2f %6d MiB %14d\n' "$n" "$secs" "$cpu" $((kib / 1024)) "$(size "due-$n/state.json")"
done

echo
echo "== 40,000 due with X unreachable (connection refused), two runs"
export TWITTER_CONSUMER_KEY=k TWITTER_CONSUMER_SECRET=s TWITTER_ACCESS_TOKEN=t TWITTER_ACCESS_TOKEN_SECRET=ts
mkdir x40k
python3 - <<'PY'
with open("due-40000-x.log", "w") as f:
    for i in range(40_000):
        ip = "2001:db8:%x:%x::1" % (i >> 16, i & 0xFFFF)
        for k in range(6):
            f.write("Nov 26 10:00:%02d web01 sshd[%d]: Failed password for root from %s port 22 ssh2\n"
                    % (i * 60 // 40_000, 10_000 + i, ip))
PY
for k in 1 2; do
    # Each run fails (exit 1): X cannot be reached.
    SINK=twitter ALLOW_FAIL=1 run x40k/state.json due-40000-x.log --twitter-api-url http://127.0.0.1:9
    printf '  run %d: %.2f s (cpu %.2f s), %d MiB; state %d bytes\n' "$k" "$secs" "$cpu" $((kib / 1024)) "$(size x40k/state.json)"
done
unset TWITTER_CONSUMER_KEY TWITTER_CONSUMER_SECRET TWITTER_ACCESS_TOKEN TWITTER_ACCESS_TOKEN_SECRET

echo
echo "== 1,000,000 Invalid user lines, each its own pid, from 200 addresses"
mkdir million
run million/state.json million.log
printf '  the run: %.2f s (cpu %.2f s), %d MiB; state %d bytes\n' "$secs" "$cpu" $((kib / 1024)) "$(size million/state.json)"
idle_runs 5 million/state.json million.log
