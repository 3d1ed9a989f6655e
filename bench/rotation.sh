#!/usr/bin/env bash
# The rotation matrix of issue 11: real logrotate between cron runs, on a
# generated auth.log with exact ground truth. For each mode, the log is fed
# in chunks while a script of runs (R), rotations (L), appends (A) and, for
# late writes, a syslog daemon reopening its file (H) plays out; at the end
# the tries counted must equal the generator's truth.
#
#   bench/rotation.sh           from the project root (or anywhere: it finds it)
#
# Knobs (environment): ROT_LINES (default 60000), ROT_SEED (default 1),
# ROT_CHUNKS (default 24), ROT_BIN (a tweet-attacks binary to measure
# instead of this tree's release build, e.g. an older one). Needs python3, logrotate, and the generator at
# ../shared/bench/gen_authlog.py. Exits 1 when any mode is not exact.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
gen=../shared/bench/gen_authlog.py
lines=${ROT_LINES:-60000}
seed=${ROT_SEED:-1}
chunks=${ROT_CHUNKS:-24}
lr=$(command -v logrotate || echo /usr/sbin/logrotate)
[[ -f $gen ]] || { echo "rotation.sh: no generator at $gen (the shared materials)" >&2; exit 1; }
[[ -x $lr ]] || { echo "rotation.sh: needs logrotate (apt-get install logrotate)" >&2; exit 1; }
if [[ -n ${ROT_BIN:-} ]]; then
    bin=$(realpath "$ROT_BIN")
else
    cargo build --release --quiet
    bin=$root/target/release/tweet-attacks
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tweet-attacks-rotation.XXXXXX")
trap 'rm -rf "$work"' EXIT
# RFC 3339 stamps carry their year, and the clock is pinned at the log's
# start, so no connection is closed by the clock between runs: each run
# counts what the logs say, as one run over the whole log would.
export TZ=UTC TWEET_ATTACKS_NOW=2026-11-26T00:00:00Z
python3 "$gen" --lines "$lines" --seed "$seed" --format iso --quiet \
    --out "$work/all.log" --truth "$work/truth.json"
truth=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["attack_tries"])' "$work/truth.json")
split -n "l/$chunks" -d -a 3 "$work/all.log" "$work/chunk."

# One mode: NAME, logrotate OPTIONS (one a line), SCRIPT of steps.
#   A  append the next chunk (through the daemon's open file when it has one)
#   R  run tweet-attacks
#   L  logrotate -f (dated names get a second each: sleep 1 between)
#   H  the daemon reopens auth.log (logrotate's postrotate would signal it)
#   D  the daemon opens auth.log and keeps it open from now on
# What is left after the script is appended, then a last run.
mode() {
    local name=$1 options=$2 script=$3
    local dir=$work/$name
    mkdir -p "$dir/logs" "$dir/lr"
    : >"$dir/logs/auth.log"
    printf '%s {\nrotate 99\nmissingok\n%s\n}\n' "$dir/logs/auth.log" "$options" >"$dir/lr/conf"
    local next=0 rotations=0 daemon=0 errors=0
    local stderr=$dir/stderr
    : >"$stderr"
    append() {
        local f
        f=$(printf '%s/chunk.%03d' "$work" "$next")
        [[ -f $f ]] || return 0
        if ((daemon)); then cat "$f" >&9; else cat "$f" >>"$dir/logs/auth.log"; fi
        next=$((next + 1))
    }
    run() {
        (cd "$dir" && "$bin" run --state state.json --auth-log logs/auth.log \
            --vsftpd-log logs/vsftpd.log --sink stdout >/dev/null 2>>"$stderr") || errors=$((errors + 1))
    }
    : >"$dir/logs/vsftpd.log"
    local step
    while ((next < chunks)); do
        for ((i = 0; i < ${#script}; i++)); do
            step=${script:i:1}
            case $step in
                A) append ;;
                R) run ;;
                L) [[ $options == *date* ]] && sleep 1
                   "$lr" -f -s "$dir/lr/status" "$dir/lr/conf"
                   rotations=$((rotations + 1)) ;;
                D) exec 9>>"$dir/logs/auth.log"; daemon=1 ;;
                H) exec 9>&-; exec 9>>"$dir/logs/auth.log" ;;
            esac
        done
    done
    if ((daemon)); then exec 9>&-; fi
    run
    local got
    got=$("$bin" show --state "$dir/state.json" --json |
        python3 -c 'import json,sys; print(sum(json.loads(l)["tries"] for l in sys.stdin))')
    local said
    said=$(wc -l <"$stderr")
    local verdict=exact
    [[ $got == "$truth" && $errors == 0 && $said == 0 ]] || { verdict=WRONG; failed=1; }
    printf '%-34s %6s %6s %+6d %4d %6d  %s\n' "$name" "$truth" "$got" $((got - truth)) \
        "$rotations" "$said" "$verdict"
    [[ $said == 0 ]] || sed 's/^/    stderr: /' "$stderr" | sort | uniq -c | head -3
}

failed=0
printf '%-34s %6s %6s %6s %4s %6s\n' MODE TRUTH TRIES DIFF ROTS STDERR
mode no-rotation               ""                                   "ARAR"
mode create                    "create"                             "ARAL"
mode copytruncate              "copytruncate"                       "ARAL"
mode copytruncate-refilled     "copytruncate"                       "ARALAA"
mode copytruncate+compress     "copytruncate
compress"                                                           "ARALAA"
mode compress                  "create
compress"                                                           "ARAL"
mode delaycompress             "create
compress
delaycompress"                                                      "ARAL"
mode dateext                   "create
dateext
dateformat -%Y%m%d%H%M%S"                                           "ARAL"
mode dateext-dashes            "create
dateext
dateformat -%Y-%m-%d-%H%M%S"                                        "ARAL"
mode two-rotations-create      "create"                             "ARALAL"
mode two-rotations-compress    "create
compress"                                                           "ARALAL"
mode two-rotations-delaycompress "create
compress
delaycompress"                                                      "ARALAL"
mode two-rotations-copytruncate "copytruncate"                      "ARALAL"
mode two-rotations-dateext     "create
dateext
dateformat -%Y%m%d%H%M%S"                                           "ARALAL"
mode two-rotations-dateext-dashes "create
dateext
dateformat -%Y-%m-%d-%H%M%S"                                        "ARALAL"
mode late-writes-delaycompress "create
compress
delaycompress"                                                      "DARALRAHA"
mode late-writes-create        "create"                             "DARALRAHA"
exit $failed
