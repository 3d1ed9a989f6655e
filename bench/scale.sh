#!/usr/bin/env bash
# The benchmark of issue 14: a central collector's table, at about 100,000
# and about 1,000,000 attackers. For each size it builds the state from two
# generator seeds with different --start (two weeks of two fleets), then
# times, best of BENCH_RUNS with peak RSS:
#   - a cron run that adds about 1 MB of log, and one that adds nothing;
#   - show, show --json, export --format json|csv|blocklist, and status if
#     this build has it, each writing the whole table;
# and prints the state's size per attacker and the disk it takes (the state
# plus the temp file kept beside it). Last, replay against grep on the 200 MB
# benchmark log of bench/compare.sh, in the same run.
#
#   bench/scale.sh              from anywhere; BENCH_SIZES="100k" for the small one only
#
# Knobs: BENCH_RUNS (default 3), BENCH_SIZES (default "100k 1m"), BENCH_DATA
# (default target/bench-data, where generated logs are cached).
# Needs python3 and ../shared/bench/gen_authlog.py; GNU time for honest RSS.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
gen=../shared/bench/gen_authlog.py
data=${BENCH_DATA:-target/bench-data}
runs=${BENCH_RUNS:-3}
sizes=${BENCH_SIZES:-100k 1m}
measure=(python3 bench/measure.py)
bin=$root/target/release/tweet-attacks
# Within the 30-day retention of both halves: the first starts on 1 November.
export TZ=UTC TWEET_ATTACKS_NOW=2026-11-27T00:00:00Z LC_ALL=C

[[ -f $gen ]] || { echo "scale.sh: no generator at $gen (the shared materials)" >&2; exit 1; }
mkdir -p "$data"
work=$(mktemp -d "${TMPDIR:-/tmp}/tweet-attacks-scale.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Generates once; the generator is deterministic, so the cache is keyed by its arguments.
generate() { # NAME ARGS...
    local name=$1 stamp="$data/$1.args"
    shift
    if [[ -f $data/$name && -f $stamp && $(cat "$stamp") == "$*" ]]; then return; fi
    echo "generating $data/$name ($*) ..."
    nice -n 10 python3 "$gen" "$@" --quiet --out "$data/$name.tmp"
    mv "$data/$name.tmp" "$data/$name"
    echo "$*" >"$stamp"
}

# Uniform over a large pool, nearly all attack lines, IPv4 only (so the
# count of attackers is the count of addresses): most attackers try once or
# twice, as on a collector. Seed and start differ between the two halves.
common="--zipf 0 --attack-frac 0.9 --ipv6-frac 0"
if [[ " $sizes " == *" 1m "* ]]; then
    generate scale-1m-a.log --lines 3300000 --seed 21 --attackers 4000000 $common --start 2026-11-01T00:00:00 &
    generate scale-1m-b.log --lines 3300000 --seed 22 --attackers 4000000 $common --start 2026-11-16T00:00:00 &
fi
generate scale-100k-a.log --lines 330000 --seed 21 --attackers 400000 $common --start 2026-11-01T00:00:00
generate scale-100k-b.log --lines 330000 --seed 22 --attackers 400000 $common --start 2026-11-16T00:00:00
# About 1.1 MB of new log for the cron run, after both.
generate scale-new.log --lines 10000 --seed 23 --attackers 4000000 $common --start 2026-11-26T00:00:00
# A day of cron runs after it: 24 slices of 10,000 lines, one per run.
generate scale-day.log --lines 240000 --seed 24 --attackers 4000000 $common --start 2026-11-26T01:00:00
[[ -f $data/auth.truth.json ]] || rm -f "$data/auth.log.args"
generate auth.log --lines 1900000 --seed 1 --truth "$data/auth.truth.json"
wait

echo "building ..."
cargo build --release --quiet

q() { printf '%q ' "$@"; }
has_status=0
"$bin" status --help >/dev/null 2>&1 && has_status=1

results=$work/results.txt
: >"$results"
for size in $sizes; do
    dir=$work/$size
    mkdir -p "$dir"
    cat "$data/scale-$size-a.log" "$data/scale-$size-b.log" >"$dir/auth.log"
    # A log named explicitly must exist: an empty vsftpd log.
    : >"$dir/vsftpd.log"
    run=("$bin" run --sink stdout --state "$dir/state.json" --auth-log "$dir/auth.log"
        --vsftpd-log "$dir/vsftpd.log" --threshold 1000000000)
    echo
    echo "== $size: building the state from $(($(stat -c %s "$dir/auth.log") / 1000000)) MB of log ..."
    /usr/bin/time -f "   (build: %e s, %M KB)" "${run[@]}" >/dev/null 2>"$dir/build.err" || { cat "$dir/build.err" >&2; exit 1; }
    tail -n 1 "$dir/build.err"
    # A second run that reads nothing, so the temp file beside the state exists, as between cron runs.
    "${run[@]}" >/dev/null 2>&1
    cp "$dir/state.json" "$dir/state0.json"
    base=$(stat -c %s "$dir/auth.log")
    newbytes=$(stat -c %s "$data/scale-new.log")
    restore="$(q truncate -s "$base" "$dir/auth.log") && $(q cat "$data/scale-new.log") >>$(q "$dir/auth.log")"
    at_rest="$(q cp "$dir/state0.json" "$dir/state.json") && sync"
    state=$dir/state.json
    {
        printf 'run, +%s KB of new log\t-\t%s && %s && sync\t\t%s\n' "$((newbytes / 1000))" \
            "$at_rest" "$restore" "$(q "${run[@]}")"
        printf 'run, nothing new\t-\t%s && %s\t\t%s\n' "$at_rest" "$(q truncate -s "$base" "$dir/auth.log")" "$(q "${run[@]}")"
        printf 'show\t-\t\t\t%s\n' "$(q "$bin" show --state "$state")"
        printf 'show --json\t-\t\t\t%s\n' "$(q "$bin" show --json --state "$state")"
        for f in json csv blocklist; do
            printf 'export --format %s\t-\t\t\t%s\n' "$f" "$(q "$bin" export --format "$f" --state "$state")"
        done
        if [[ $has_status == 1 ]]; then
            printf 'status\t-\t\t\t%s\n' "$(q "$bin" status --state "$state")"
        fi
    } >"$dir/spec"
    "${measure[@]}" --spec "$dir/spec" --runs "$runs" --json "$dir/times.json"
    # Consecutive cron runs from the state as it was, each adding its own
    # 1 MB: appends pile up chunks and dead records until one compacts.
    cp "$dir/state0.json" "$dir/state.json"
    truncate -s "$base" "$dir/auth.log"
    rm -rf "$dir/day" && mkdir "$dir/day" && split -l 10000 -d -a 2 "$data/scale-day.log" "$dir/day/"
    : >"$dir/day.txt"
    for slice in "$dir"/day/*; do
        cat "$slice" >>"$dir/auth.log"
        sync
        inode=$(stat -c %i "$state")
        /usr/bin/time -f "%e %M" -o "$dir/one.txt" "${run[@]}" >/dev/null 2>&1
        echo "$(cat "$dir/one.txt") $([[ $(stat -c %i "$state") == "$inode" ]] && echo append || echo rewrite)" >>"$dir/day.txt"
    done
    # Runs that must compact: the daily one (a day more of attackers idle
    # past the retention), and one over --max-attackers (the least recent go).
    TWEET_ATTACKS_NOW=2026-11-28T12:00:00Z /usr/bin/time -f "%e %M" -o "$dir/compact.txt" "${run[@]}" >/dev/null 2>&1
    echo "$(cat "$dir/compact.txt") compact" >>"$dir/day.txt"
    n_now=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["attackers"])' < <("$bin" status --json --state "$state"))
    TWEET_ATTACKS_NOW=2026-11-28T12:00:00Z /usr/bin/time -f "%e %M" -o "$dir/compact.txt" "${run[@]}" --max-attackers "$((n_now - 1000))" >/dev/null 2>&1
    echo "$(cat "$dir/compact.txt") bound" >>"$dir/day.txt"
    # After the day of runs and the compactions, the state is as cron leaves it.
    python3 - "$dir" "$size" "$dir/times.json" >>"$results" <<'EOF'
import json, os, sys
d, size, times = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
def attackers(name):
    # Format 4: the newest record of each address across the chunks.
    st = json.load(open(os.path.join(d, name)))
    seen = set()
    for part in st.get("parts", [st.get("table", {})]):
        seen.update(part.get("attackers", {}))
    return len(seen)
# The timed runs start from state0; the size figures are of the state after the day of runs.
n = attackers("state0.json")
n_after = attackers("state.json")
state = os.path.getsize(os.path.join(d, "state.json"))
disk = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.startswith("state.json"))
day = [l.split() for l in open(os.path.join(d, "day.txt"))]
row = {"size": size, "attackers": n, "attackers_after": n_after, "state_bytes": state, "disk_bytes": disk,
       "times": {t["label"]: (t["best_s"], t["peak_rss_mib"]) for t in times},
       "day": [(float(s), int(kb) / 1024, how) for s, kb, how in day]}
print(json.dumps(row))
EOF
done

# --- replay against grep, in the same run ----------------------------------
log=$data/auth.log
cat "$log" >/dev/null
{
    printf 'tweet-attacks replay\t-\t\t\t%s\n' "$(q "$bin" replay "$log")"
    printf 'grep\t-\t\t\t%s\n' "$(q grep -c -E 'Failed|Invalid user|authentication failure' "$log")"
} >"$work/replay.spec"
echo
echo "== replay of $log ($(($(stat -c %s "$log") / 1000000)) MB) against grep, best of $((runs + 2))"
"${measure[@]}" --spec "$work/replay.spec" --runs "$((runs + 2))" --bytes "$(stat -c %s "$log")" \
    --ref grep --json "$work/replay.json"

# --- the figures and the goals ---------------------------------------------
python3 - "$results" "$work/replay.json" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
replay = {r["label"]: r for r in json.load(open(sys.argv[2]))}
def check(ok, what):
    print(f"  [{'ok' if ok else 'MISSED'}] {what}")
print("\nfigures:")
for r in rows:
    n = r["attackers"]
    m = r["attackers_after"]
    print(f"  {r['size']}: {n} attackers; after the day of runs {m}, state {r['state_bytes'] / 2**20:.1f} MiB "
          f"({r['state_bytes'] / m:.0f} B each); disk {r['disk_bytes'] / 2**20:.1f} MiB "
          f"({r['disk_bytes'] / r['state_bytes']:.2f}x the state)")
    for label, (s, rss) in r["times"].items():
        print(f"    {label:<28} {s * 1000:8.0f} ms  {rss:7.1f} MiB")
    runs = [x for x in r["day"] if x[2] in ("append", "rewrite")]
    ms = sorted(x[0] * 1000 for x in runs)
    print(f"    {len(runs)} cron runs in a row, +1 MB each: median {ms[len(ms) // 2]:.0f} ms, "
          f"max {ms[-1]:.0f} ms, peak {max(x[1] for x in runs):.1f} MiB, "
          f"{sum(x[2] == 'rewrite' for x in runs)} compacted")
    for how, label in [("compact", "a run that compacts (daily)"), ("bound", "one over --max-attackers")]:
        c = [x for x in r["day"] if x[2] == how][0]
        print(f"    {label:<28} {c[0] * 1000:8.0f} ms  {c[1]:7.1f} MiB")
if len(rows) == 2:
    a, b = rows
    print(f"  growth {a['size']} -> {b['size']} ({b['attackers'] / a['attackers']:.1f}x the attackers):")
    for label in a["times"]:
        print(f"    {label:<28} {b['times'][label][0] / a['times'][label][0]:6.1f}x the time")
print("goals (issue 14), at the largest size:")
r = rows[-1]
n, t = r["attackers"], r["times"]
cron = next(v for k, v in t.items() if k.startswith("run, +"))
check(cron[0] < 0.1, f"cron run + 1 MB under 100 ms: {cron[0] * 1000:.0f} ms")
check(cron[1] < 64, f"cron run under 64 MiB: {cron[1]:.1f} MiB")
day = [x for x in r["day"] if x[2] in ("append", "rewrite")]
check(all(x[0] < 0.1 and x[1] < 64 for x in day),
      f"each of {len(day)} cron runs in a row under 100 ms and 64 MiB: "
      f"max {max(x[0] for x in day) * 1000:.0f} ms, {max(x[1] for x in day):.1f} MiB "
      f"(a run that compacts is not counted: {[x for x in r['day'] if x[2] == 'compact'][0][0] * 1000:.0f} ms)")
for how in ("compact", "bound"):
    c = [x for x in r["day"] if x[2] == how][0]
    check(c[1] < 64, f"a run that compacts ({how}) under 64 MiB: {c[1]:.1f} MiB, {c[0]:.2f} s")
for label in [k for k in t if not k.startswith("run")]:
    check(t[label][1] < 64, f"{label} under 64 MiB: {t[label][1]:.1f} MiB")
check(r["state_bytes"] / r["attackers_after"] <= 80,
      f"state at most 80 B per attacker: {r['state_bytes'] / r['attackers_after']:.0f}")
check(r["disk_bytes"] / r["state_bytes"] <= 2, f"disk within 2x the state: {r['disk_bytes'] / r['state_bytes']:.2f}x")
ratio = replay["tweet-attacks replay"]["ratio_to_ref"]
check(ratio <= 1.0, f"replay at most grep's time: {ratio:.2f}x")
EOF
