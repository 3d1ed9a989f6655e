#!/usr/bin/env bash
# The figures of issue 23 (the attacker pages), for one build:
#   1. `site rebuild` of 100,000 pages into an empty folder, again with
#      every page changed (a new title, as after an upgrade), and again with
#      all unchanged: time and peak RSS;
#   2. a `run --sink site` that announces 1,000 new attackers into the site
#      of 100,000 pages, and an idle one (nothing new) over it;
#   3. the largest page and JSON twin written, and the page of a crafted
#      worst case: an IPv6 /64 on SSH and FTP with the most stored user
#      names (MAX_USERS, 10, and more only counted) of the longest kind a
#      page may show: dictionary words (the default), or 32-byte local
#      account names under show-local-users (longer ones are never shown);
# and prints them against the goals. Times are best of BENCH_RUNS, each run
# from the same site and state (a hard-linked copy of the folder: the site
# replaces files by rename, never in place). Old folders are moved aside and
# deleted only at the end: ext4 without a journal skips the inodes freed in
# the last minutes when it makes a file, so a folder of 200,000 files deleted
# just before slows the next run several times (anyone's deletions do).
#
#   bench/site.sh [path/to/tweet-attacks]     (default: target/release/tweet-attacks, built)
#
# Knobs: BENCH_RUNS (default 3), BENCH_PAGES (100000), BENCH_NEW (1000).
# Needs python3 and GNU time (Debian package "time") for the peak RSS.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ $# -gt 0 ]]; then
    bin=$(realpath "$1")
else
    (cd "$root" && cargo build --release --quiet)
    bin=$root/target/release/tweet-attacks
fi
runs=${BENCH_RUNS:-3}
pages=${BENCH_PAGES:-100000}
new=${BENCH_NEW:-1000}
measure=(python3 "$root/bench/measure.py")
# The logs' lines are from 10:00 on 26 November; every run is after them.
export TZ=UTC LC_ALL=C TWEET_ATTACKS_NOW=2026-11-26T10:30:00Z
work=$(mktemp -d "${TMPDIR:-/tmp}/tweet-attacks-site.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

# Attacker i: six tries, one connection, closed; 1 in 10 an IPv6 /64.
# Names from the built-in dictionary, so the pages show them as they would.
python3 - "$pages" "$new" <<'PY'
import sys
pages, new = int(sys.argv[1]), int(sys.argv[2])
NAMES = ["admin", "user", "test", "oracle", "postgres", "ubuntu", "git", "ftpuser",
         "administrator", "guest", "deploy", "elasticsearch", "support", "pi", "debian"]
def addr(i):
    if i % 10 == 9:
        return "2a0f:%x:%x::%x" % (i >> 16, i & 0xFFFF, i % 251 + 1)
    return "%d.%d.%d.%d" % (20 + (i >> 16), (i >> 8) & 255, i & 255, i % 250 + 1)
def attacker(f, i, minute):
    ip, stamp = addr(i), "Nov 26 10:%02d:%02d" % (minute, i % 60)
    for k in range(6):
        name = NAMES[(i * 7 + k * 3) % len(NAMES)]
        f.write("%s web01 sshd[%d]: Failed password for invalid user %s from %s port %d ssh2\n"
                % (stamp, 10_000 + i, name, ip, 40_000 + k))
    f.write("%s web01 sshd[%d]: Connection closed by invalid user %s %s port 40005 [preauth]\n"
            % (stamp, 10_000 + i, name, ip))
with open("base.log", "w") as f:
    for i in range(pages):
        attacker(f, i, i * 20 // pages)
with open("new.log", "w") as f:
    for i in range(pages, pages + new):
        attacker(f, i, 21)
# The worst case: one /64, twelve names (ten stored, two counted), on SSH and FTP.
long = ["%s%s" % (c * 31, "0") for c in "abcdefghijkl"]
words = ["administrateur", "amministratore", "administrador", "administrator",
         "elasticsearch", "gitlab-runner", "homeassistant", "telecomadmin",
         "transmission", "qbittorrent", "application", "centos-user"]
for kind, names in (("words", words), ("long", long)):
    with open("worst-%s.log" % kind, "w") as f:
        for k, name in enumerate(names):
            f.write("Nov 26 10:00:%02d web01 sshd[%d]: Failed password for invalid user %s "
                    "from 2a0f:ffff:ffff:ffff:ffff:ffff:ffff:%x port 22 ssh2\n"
                    % (k, 500 + k, name, 0xfff0 + k))
    with open("worst-%s.ftp" % kind, "w") as f:
        f.write('Thu Nov 26 10:01:00 2026 [pid 900] [%s] FAIL LOGIN: Client '
                '"2a0f:ffff:ffff:ffff:ffff:ffff:ffff:ffff"\n' % names[0])
with open("passwd", "w") as f:
    f.write("root:x:0:0:root:/root:/bin/sh\n")
    for name in long:
        f.write("%s:x:1000:1000::/home/%s:/bin/sh\n" % (name, name))
PY
: >empty.log
mkdir site trash
# One options file per site; the run's flags name the logs and the state.
options() { # DIR
    printf '[site]\ndir = "%s"\nurl = "https://example.org/attacks/"\ncontact = "mailto:abuse@example.org"\n' "$work/$1"
}
# The first rebuild's site has the default title; the others another one,
# so that the second rebuild changes every page.
{
    printf 'passwd = "%s"\n' "$work/passwd"
    options site
} >first.toml
{
    cat first.toml
    echo 'title = "Failed logins on example.org"'
} >site.toml

q() { printf '%q ' "$@"; }
run=("$bin" run --config "$work/site.toml" --state "$work/state.json" --auth-log "$work/auth.log"
    --vsftpd-log "$work/empty.log")
cp base.log auth.log
echo "building the state of $pages attackers ($(($(stat -c %s auth.log) / 1000000)) MB of log) ..."
/usr/bin/time -f "   (build: %e s, %M KB)" "${run[@]}" --sink stdout >/dev/null 2>build.err || { cat build.err >&2; exit 1; }
tail -n 1 build.err
cp state.json state0.json
base=$(stat -c %s auth.log)

# --- 1. site rebuild ---------------------------------------------------------
rebuild=("$bin" site rebuild --state "$work/state.json" --config)
aside="mv $(q "$work/site") \"\$(mktemp -u $(q "$work/trash/site.XXXXXX"))\""
{
    printf 'site rebuild, empty folder\t-\t%s\t\t%s\n' \
        "$aside && $(q mkdir "$work/site") && sync" "$(q "${rebuild[@]}" "$work/first.toml")"
    printf 'site rebuild, every page changed\t-\tsync\t\t%s\n' "$(q "${rebuild[@]}" "$work/site.toml")"
    printf 'site rebuild, all unchanged\t-\tsync\t\t%s\n' "$(q "${rebuild[@]}" "$work/site.toml")"
} >rebuild.spec
echo
echo "== site rebuild of $pages pages, best of $runs; the site on $(findmnt -no FSTYPE,OPTIONS -T "$work" || stat -f -c %T "$work")"
"${measure[@]}" --spec rebuild.spec --runs "$runs" --json rebuild.json
cp -al site site0

# --- 2. runs into the site of 100,000 pages -----------------------------------
at_rest="$(q cp "$work/state0.json" "$work/state.json") && $aside && $(q cp -al "$work/site0" "$work/site")"
{
    printf 'run, %s new attackers\t-\t%s && %s && %s >>%s && sync\t\t%s\n' "$new" "$at_rest" \
        "$(q truncate -s "$base" "$work/auth.log")" "$(q cat "$work/new.log")" "$(q "$work/auth.log")" \
        "$(q "${run[@]}" --sink site)"
    printf 'run, nothing new\t-\t%s && %s && sync\t\t%s\n' "$at_rest" \
        "$(q truncate -s "$base" "$work/auth.log")" "$(q "${run[@]}" --sink site)"
} >run.spec
echo
echo "== runs into the site of $pages pages, best of $runs"
"${measure[@]}" --spec run.spec --runs "$runs" --json run.json
# The site as the announcing run leaves it, for the sizes.
eval "$at_rest"
truncate -s "$base" auth.log
cat new.log >>auth.log
"${run[@]}" --sink site >/dev/null

# --- 3. the worst page ----------------------------------------------------------
for kind in words long; do
    mkdir "worst-$kind"
    extra=
    [[ $kind == long ]] && extra='show-local-users = true'
    {
        printf 'passwd = "%s"\n%s\n' "$work/passwd" "$extra"
        options "worst-$kind"
        echo 'title = "Failed logins on a server with a long name, example.org"'
    } >"worst-$kind.toml"
    "$bin" run --config "$work/worst-$kind.toml" --sink site --state "$work/worst-$kind.json" \
        --auth-log "$work/worst-$kind.log" --vsftpd-log "$work/worst-$kind.ftp" >/dev/null 2>worst.err || {
        cat worst.err >&2
        exit 1
    }
done

python3 - "$pages" "$new" <<'PY'
import glob, json, os, re, sys
pages, new = int(sys.argv[1]), int(sys.argv[2])
times = {t["label"]: t for f in ("rebuild.json", "run.json") for t in json.load(open(f))}
def largest(pattern):
    sizes = [(os.path.getsize(p), p) for p in glob.glob(pattern)]
    return len(sizes), max(sizes)
n_html, (html, html_at) = largest("site/ip/*.html")
n_json, (twin, _) = largest("site/ip/*.json")
print("\nfigures:")
print(f"  the site: {n_html} pages, {n_json} JSON twins; largest page {html} B "
      f"({os.path.basename(html_at)}), largest twin {twin} B")
for name in ("index.html", "sitemap.xml", "feed.atom", ".tweet-attacks-site.tsv"):
    if os.path.exists("site/" + name):
        p = "site/" + name
        print(f"  {p[5:]:<30} {os.path.getsize(p):>10} B")
maps = glob.glob("site/sitemap-*.xml")
if maps:
    print(f"  {len(maps)} sitemap files, largest {max(map(os.path.getsize, maps))} B")
worst = {}
for kind in ("words", "long"):
    [p] = glob.glob(f"worst-{kind}/ip/*.html")
    text = open(p).read()
    shown = len(re.findall("<code>", text))
    more = re.search(r"\+(\d+) more", text)
    worst[kind] = os.path.getsize(p)
    print(f"  worst page, {kind:<5} names: {worst[kind]} B, {shown} names shown"
          f"{', +' + more.group(1) + ' more' if more else ''}"
          f" (JSON twin {os.path.getsize(p[:-5] + '.json')} B)")
for label, t in times.items():
    print(f"  {label:<32} {t['best_s'] * 1000:8.0f} ms  {t['peak_rss_mib']:6.1f} MiB")
def check(ok, what):
    print(f"  [{'ok' if ok else 'MISSED'}] {what}")
print("goals (issue 23):")
for case in ("empty folder", "every page changed", "all unchanged"):
    r = times["site rebuild, " + case]
    check(r["best_s"] < 10 and r["peak_rss_mib"] < 64, f"site rebuild of {pages} pages, {case}, "
          f"under 10 s and 64 MiB: {r['best_s']:.2f} s, {r['peak_rss_mib']:.1f} MiB")
r = times[f"run, {new} new attackers"]
check(r["best_s"] < 1, f"a run announcing {new} into {pages} pages under 1 s: {r['best_s']:.2f} s")
check(r["peak_rss_mib"] < 64, f"that run under 64 MiB: {r['peak_rss_mib']:.1f} MiB")
top = max(html, *worst.values())
check(top <= 4096, f"a page at most 4 KiB: largest written {html} B, worst case {max(worst.values())} B")
PY
