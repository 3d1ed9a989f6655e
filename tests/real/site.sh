#!/usr/bin/env bash
# The `site` destination checked against the real thing: Debian's nginx
# serves what a run wrote, tidy and xmllint validate it, headless Chromium
# reads it, a fake IndexNow endpoint (fake_indexnow.py) judges each
# notice as indexnow.org documents, and runs are SIGKILLed at every pause
# point (src/fault.rs) on their way. Run as root on Debian 12:
#
#   bash tests/real/site.sh                  # build the debug tool, run it, check
#   bash tests/real/site.sh --check DIR URL  # only serve DIR at URL and check it
#
# It installs what it lacks (nginx-light, tidy, libxml2-utils, chromium,
# curl), builds the debug binary (the one with pause points) or takes
# $TWEET_ATTACKS, and works in a temp folder it removes at the end
# ($KEEP=1 keeps it). Screenshots go to target/site-screens/. Last line:
# `site: N passed, M failed`; exit 1 when any check fails.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FIXTURES=$ROOT/tests/fixtures
SCREENS=${CARGO_TARGET_DIR:-$ROOT/target}/site-screens
KEY=a1b2c3d4e5f6-site-test-key
CONTACT=abuse@example.org
# The examples' attacks are of 2026-11-26 up to 08:10 UTC: announced when
# the run's clock is within 24 hours of them.
NOW=2026-11-26T09:00:00Z

# Debian's python3 when there is one: a shim (pyenv) costs a fraction of a
# second a start, and the checks start it a few times a run.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

passed=0
failed=0
noted=()
check() { # check WHAT COMMAND...: ok when the command succeeds
    local what=$1
    shift
    if "$@"; then
        echo "ok   $what"
        passed=$((passed + 1))
    else
        echo "FAIL $what"
        failed=$((failed + 1))
    fi
}
eq() { # eq WHAT WANT GOT
    if [ "$2" = "$3" ]; then
        echo "ok   $1: $3"
        passed=$((passed + 1))
    else
        echo "FAIL $1: want $2, got $3"
        failed=$((failed + 1))
    fi
}
say() { echo "site: $*"; }

install_packages() {
    export DEBIAN_FRONTEND=noninteractive
    local need=()
    [ -x /usr/sbin/nginx ] || need+=(nginx-light)
    command -v tidy >/dev/null || need+=(tidy)
    command -v xmllint >/dev/null || need+=(libxml2-utils)
    # A font for the screenshots' text (the recommends are not installed).
    command -v chromium >/dev/null || need+=(chromium fonts-dejavu-core)
    command -v curl >/dev/null || need+=(curl)
    command -v python3 >/dev/null || need+=(python3)
    [ ${#need[@]} -eq 0 ] && return
    say "installing ${need[*]}"
    apt-get update -qq
    # Where there is no nginx-light (it left Debian after 12), nginx.
    if [[ " ${need[*]} " = *" nginx-light "* ]] && ! apt-cache show nginx-light >/dev/null 2>&1; then
        need=("${need[@]/nginx-light/nginx}")
    fi
    # Installed, not started: the package's own nginx would take port 80.
    local policy=/usr/sbin/policy-rc.d made=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made=1
    fi
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    [ -z "$made" ] || rm -f "$policy"
}

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

WORK=
cleanup() {
    [ -n "${victim:-}" ] && kill -KILL "$victim" 2>/dev/null
    [ -n "${fake_pid:-}" ] && kill "$fake_pid" 2>/dev/null
    [ -n "${watch_pid:-}" ] && kill "$watch_pid" 2>/dev/null
    [ -n "${nginx_pid:-}" ] && kill "$nginx_pid" 2>/dev/null
    wait 2>/dev/null
    if [ -n "$WORK" ]; then
        if [ -n "${KEEP:-}" ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
    fi
    return 0
}
trap cleanup EXIT

# --- nginx: serves DIR at URL's path, on URL's port --------------------------
# A throwaway configuration with its own pid, logs and temp folders; the
# workers run as www-data, as Debian's own nginx does, so a file the tool
# writes that www-data cannot read shows as a 403.
serve() { # serve DIR URL
    local dir=$1 url=$2 port path
    port=$(sed -E 's#^http://127\.0\.0\.1:([0-9]+)/.*#\1#' <<<"$url")
    path=$(sed -E 's#^http://127\.0\.0\.1:[0-9]+##' <<<"$url")
    mkdir -p "$WORK/nginx"
    cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
user www-data;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log $WORK/nginx/access.log;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server {
        listen 127.0.0.1:$port;
        # Exactly what the README recommends: the site's own hidden files
        # (its manifest, its generation stamp) are no one's business.
        location $path {
            alias $dir/;
            location ~ /\. { deny all; }
        }
    }
}
EOF
    nginx -t -q -c "$WORK/nginx/nginx.conf"
    nginx -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
    nginx_pid=$!
    for _ in $(seq 100); do
        curl -s --noproxy '*' -o /dev/null "http://127.0.0.1:$port/" && return 0
        sleep 0.05
    done
    say "nginx did not start"
    cat "$WORK/nginx/error.log" >&2
    return 1
}

# fetch URL FILE: the body to FILE; prints "STATUS CONTENT-TYPE".
fetch() {
    curl -s --noproxy '*' -o "$2" -w '%{http_code} %{content_type}' "$1" || echo "000 (curl failed)"
}

# The sitemap's URLs (through a sitemap index if it is one), each file
# validated against sitemaps.org's schema: to $WORK/locs.
sitemap_locs() { # sitemap_locs LABEL
    local label=$1 got kind n=0
    : >"$WORK/locs"
    got=$(fetch "${URL}sitemap.xml" "$WORK/sitemap.xml")
    check "$label: sitemap.xml served as XML ($got)" grep -Eq '^200 (text|application)/xml' <<<"$got"
    kind=$(xmllint --xpath 'local-name(/*)' "$WORK/sitemap.xml" 2>/dev/null || echo none)
    if [ "$kind" = sitemapindex ]; then
        check "$label: sitemap.xml is a valid sitemap index" \
            xml_valid --schema "$FIXTURES/siteindex.xsd" "$WORK/sitemap.xml"
        for part in $(locs_of "$WORK/sitemap.xml"); do
            n=$((n + 1))
            got=$(fetch "$part" "$WORK/sitemap-part.xml")
            check "$label: sitemap part $part served ($got)" grep -Eq '^200 (text|application)/xml' <<<"$got"
            check "$label: sitemap part $part is valid" \
                xml_valid --schema "$FIXTURES/sitemap.xsd" "$WORK/sitemap-part.xml"
            locs_of "$WORK/sitemap-part.xml" >>"$WORK/locs"
        done
    else
        check "$label: sitemap.xml is valid ($kind)" \
            xml_valid --schema "$FIXTURES/sitemap.xsd" "$WORK/sitemap.xml"
        locs_of "$WORK/sitemap.xml" >>"$WORK/locs"
    fi
}
# xmllint's verdict, its output shown only when it finds a fault.
xml_valid() { # xml_valid --schema|--relaxng|--schematron SCHEMA FILE
    xmllint --noout "$@" >"$WORK/xmllint.out" 2>&1 || { sed 's/^/    /' "$WORK/xmllint.out" | head -n 10; return 1; }
}
locs_of() {
    xmllint --xpath '//*[local-name()="loc"]/text()' "$1" 2>/dev/null | tr -s ' \n' '\n\n' | grep . || true
}

# HTML that tidy finds no fault in. Warnings count as faults too: the
# pages are ours, few and static, so there is no reason for one.
tidy_clean() { # tidy_clean FILE
    local rc=0
    tidy -q -e --gnu-emacs yes "$1" 2>"$WORK/tidy.out" || rc=$?
    if [ "$rc" -ne 0 ]; then
        sed "s#^#    #" "$WORK/tidy.out" | head -n 10
        return 1
    fi
}

# The address each page is about, from its JSON twin: "FILE ADDRESS TRIES"
# (a network as "ip/prefix"), or "FILE BAD why" for a twin that does not
# parse or lacks them. One Python for all the files named.
json_subjects() { # json_subjects FILE...
    "$PY" - "$@" <<'EOF'
import json, sys
for f in sys.argv[1:]:
    try:
        o = json.load(open(f, encoding="utf-8"))
        subject = o["ip"] + ("/%d" % o["prefix"] if o.get("prefix") else "")
        print(f, subject, int(o["tries"]))
    except Exception as e:
        print(f, "BAD", repr(e).replace("\n", " "))
EOF
}

# Every check of what nginx serves, run after each run: the files, their
# types, their validity, and the site's consistency.
check_site() { # check_site LABEL
    local label=$1 got
    local d=$WORK/got
    rm -rf "$d" && mkdir -p "$d"
    sitemap_locs "$label"
    sort -u "$WORK/locs" >"$WORK/locs.sorted"
    eq "$label: the sitemap names each URL once" "$(wc -l <"$WORK/locs")" "$(wc -l <"$WORK/locs.sorted")"

    got=$(fetch "$URL" "$d/index.html")
    check "$label: the index served as HTML ($got)" grep -q '^200 text/html' <<<"$got"
    check "$label: the index is clean HTML" tidy_clean "$d/index.html"

    got=$(fetch "${URL}robots.txt" "$d/robots.txt")
    check "$label: robots.txt served as text ($got)" grep -q '^200 text/plain' <<<"$got"
    check "$label: robots.txt names the sitemap" grep -qxF "Sitemap: ${URL}sitemap.xml" "$d/robots.txt"

    if [ -n "$KEYED" ]; then
        got=$(fetch "${URL}$KEY.txt" "$d/key.txt")
        check "$label: the IndexNow key file served as text ($got)" grep -q '^200 text/plain' <<<"$got"
        # (compared, not printed: the tool keeps the key out of its messages)
        check "$label: the key file holds the key" test "$KEY" = "$(tr -d '\r\n' <"$d/key.txt")"
    fi

    got=$(fetch "${URL}feed.atom" "$d/feed.atom")
    check "$label: feed.atom served as Atom ($got)" grep -q '^200 application/atom+xml' <<<"$got"
    check "$label: feed.atom is valid RFC 4287 (RELAX NG)" \
        xml_valid --relaxng "$FIXTURES/atom.rng" "$d/feed.atom"
    check "$label: feed.atom is valid RFC 4287 (Schematron)" \
        xml_valid --schematron "$FIXTURES/atom.sch" "$d/feed.atom"

    # Every page the sitemap names, and its JSON twin.
    local bad_html=0 bad_json=0 bad_type=0 bad_twin=0 n=0 loc f twins=()
    local -A twin_url=()
    : >"$WORK/pages.sitemap"
    while read -r loc; do
        n=$((n + 1))
        f=$d/page$n.html
        case $loc in "${URL}ip/"*.html) echo "${loc#"$URL"}" >>"$WORK/pages.sitemap" ;; esac
        got=$(fetch "$loc" "$f")
        if ! grep -q '^200 text/html' <<<"$got"; then
            echo "    $loc: $got"
            bad_type=$((bad_type + 1))
            continue
        fi
        tidy_clean "$f" || { echo "    (that was $loc)"; bad_html=$((bad_html + 1)); }
        case $loc in
        "${URL}ip/"*.html)
            got=$(fetch "${loc%.html}.json" "$f.json")
            if grep -q '^200 application/json' <<<"$got"; then
                twins+=("$f.json")
                twin_url["$f.json"]=${loc%.html}.json
            else
                echo "    ${loc%.html}.json: $got"
                bad_type=$((bad_type + 1))
            fi
            ;;
        esac
    done <"$WORK/locs.sorted"
    local file subject rest
    while read -r file subject rest; do
        if [ "$subject" = BAD ]; then
            echo "    ${twin_url[$file]}: $rest"
            bad_json=$((bad_json + 1))
        elif ! grep -qF "$subject" "${file%.json}"; then
            echo "    ${twin_url[$file]%.json}.html does not show $subject, its JSON's subject"
            bad_twin=$((bad_twin + 1))
        fi
    done < <([ ${#twins[@]} -eq 0 ] || json_subjects "${twins[@]}")
    eq "$label: the sitemap's URLs served as HTML, their twins as JSON" 0 "$bad_type"
    eq "$label: the sitemap's pages that tidy faults" 0 "$bad_html"
    eq "$label: JSON twins that do not parse or lack ip and tries" 0 "$bad_json"
    eq "$label: pages that do not show their twin's address" 0 "$bad_twin"

    # What is on disk, what the sitemap names and what the index and its
    # archive link to: the same pages. No file is served half-written:
    # every HTML and JSON file in the folder parses whole.
    (cd "$DIR" && find ip -name '*.html' 2>/dev/null | sort) >"$WORK/pages.disk"
    sort -o "$WORK/pages.sitemap" "$WORK/pages.sitemap"
    check "$label: sitemap pages == page files ($(wc -l <"$WORK/pages.disk"))" \
        diff -u "$WORK/pages.disk" "$WORK/pages.sitemap"
    linked "$DIR" >"$WORK/pages.linked"
    check "$label: index and archive link to every page, and to no other" \
        diff -u "$WORK/pages.disk" "$WORK/pages.linked"
    check "$label: the feed links only to pages that exist" feed_links_exist
    check "$label: every HTML and JSON file in the folder parses whole" all_parse
    check "$label: no temp or hidden file left in the folder" no_hidden
    eq "$label: attacker pages over 4 KiB" "" "$(cd "$DIR" && find ip -name '*.html' -size +4096c | tr '\n' ' ')"
}

# The ip/ pages the index and archive pages link to, relative to the site.
linked() {
    "$PY" - "$1" "$URL" <<'EOF'
import html.parser, os, sys, urllib.parse
root, site = sys.argv[1], sys.argv[2]
files = ["index.html"] + ["archive/" + f for f in sorted(os.listdir(os.path.join(root, "archive")))
                          if f.endswith(".html")] if os.path.isdir(os.path.join(root, "archive")) else ["index.html"]
found = set()
class P(html.parser.HTMLParser):
    def __init__(self, base):
        super().__init__()
        self.base = base
    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href:
            full = urllib.parse.urljoin(site + self.base, href)
            rel = full[len(site):] if full.startswith(site) else full
            if rel.startswith("ip/") and rel.endswith(".html"):
                found.add(rel)
for f in files:
    p = P(f)
    p.feed(open(os.path.join(root, f), encoding="utf-8").read())
print("\n".join(sorted(found)))
EOF
}

feed_links_exist() {
    local missing=0 href
    for href in $(xmllint --xpath '//*[local-name()="link"]/@href' "$WORK/got/feed.atom" 2>/dev/null |
        sed -E 's/ href="([^"]*)"/\1\n/g'); do
        case $href in
        "${URL}ip/"*) [ -f "$DIR/${href#"$URL"}" ] || { echo "    the feed links to $href"; missing=1; } ;;
        esac
    done
    return $missing
}

all_parse() {
    local f bad=0 jsons=()
    while IFS= read -r -d '' f; do
        case $f in
        *.html) tidy -q -e "$f" >/dev/null 2>&1 || [ $? -eq 1 ] || { echo "    $f"; bad=1; } ;;
        *.json) jsons+=("$f") ;;
        esac
    done < <(find "$DIR" -type f \( -name '*.html' -o -name '*.json' \) -print0)
    [ ${#jsons[@]} -eq 0 ] || "$PY" - "${jsons[@]}" <<'EOF' || bad=1
import json, sys
bad = 0
for f in sys.argv[1:]:
    try:
        json.load(open(f, encoding="utf-8"))
    except ValueError as e:
        print("    %s: %s" % (f, e))
        bad = 1
sys.exit(bad)
EOF
    return $bad
}

# The manifest and its generation stamp are the site's own hidden files;
# anything else hidden (a temp file above all) is litter nginx would serve.
no_hidden() {
    local left
    left=$(find "$DIR" -name '.*' ! -name .tweet-attacks-site.tsv ! -name .tweet-attacks-derived -print)
    [ -z "$left" ] || { sed 's/^/    /' <<<"$left"; return 1; }
}

# --- headless Chromium --------------------------------------------------------
browser() { # browser ARGS...
    timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-proxy-server --disable-dev-shm-usage \
        --user-data-dir="$WORK/chromium" "$@" 2>>"$WORK/chromium.log"
}

check_browser() { # check_browser PAGE-URL ADDRESS TRIES
    local page=$1 address=$2 tries=$3 name w
    browser --dump-dom "$URL" >"$WORK/index.dom" || true
    browser --dump-dom "$page" >"$WORK/page.dom" || true
    check "Chromium: the index's DOM shows $address" grep -qF "$address" "$WORK/index.dom"
    check "Chromium: the index's DOM shows the contact" grep -qF "$CONTACT" "$WORK/index.dom"
    check "Chromium: the page's DOM shows $address" grep -qF "$address" "$WORK/page.dom"
    # The count as an element's whole text (<dd>9</dd>, <td>9</td>), not
    # any digit in a date.
    check "Chromium: the index's DOM shows the tries ($tries)" grep -qE ">[[:space:]]*$tries[[:space:]]*<" "$WORK/index.dom"
    check "Chromium: the page's DOM shows the tries ($tries)" grep -qE ">[[:space:]]*$tries[[:space:]]*<" "$WORK/page.dom"
    check "Chromium: the page's DOM shows the contact" grep -qF "$CONTACT" "$WORK/page.dom"
    mkdir -p "$SCREENS"
    for name in index page; do
        for w in phone:390,844 desktop:1280,900; do
            rm -f "$SCREENS/$name-${w%%:*}.png"
            browser --screenshot="$SCREENS/$name-${w%%:*}.png" --window-size="${w#*:}" \
                "$([ $name = index ] && echo "$URL" || echo "$page")" >/dev/null || true
            check "Chromium: screenshot $name-${w%%:*}.png (${w#*:})" test -s "$SCREENS/$name-${w%%:*}.png"
        done
    done
}

# --- main ---------------------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
    echo "site: run as root (nginx's workers run as www-data; apt)" >&2
    exit 1
fi
install_packages
WORK=$(mktemp -d /tmp/site-test.XXXXXX)
chmod 755 "$WORK" # www-data walks through it to the site
t0=$(date +%s)

if [ "${1:-}" = --check ]; then
    DIR=$(cd "$2" && pwd)
    URL=$3
    KEYED=
    [ -f "$DIR/$KEY.txt" ] && KEYED=1
    serve "$DIR" "$URL"
    check_site check
    first=$(head -n 1 "$WORK/pages.sitemap")
    if [ -n "$first" ]; then
        read -r _ address tries < <(json_subjects "$DIR/${first%.html}.json")
        check_browser "$URL$first" "$address" "$tries"
    fi
    say "took $(($(date +%s) - t0)) s"
    echo "site: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
fi

# --- the tool, its logs and its options file ------------------------------------
if [ -n "${TWEET_ATTACKS:-}" ]; then
    BIN=$TWEET_ATTACKS
else
    say "building the debug binary (it has the pause points)"
    (cd "$ROOT" && cargo build -q)
    BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/tweet-attacks
fi
grep -q TWEET_ATTACKS_PAUSE_AT "$BIN" || { echo "site: $BIN has no pause points (a release build?)" >&2; exit 1; }

PORT=$(free_port)
NOTIFY_PORT=$(free_port)
URL=http://127.0.0.1:$PORT/attacks/
DIR=$WORK/www/attacks
KEYED=1
mkdir -p "$DIR"
chmod 755 "$WORK/www" "$DIR"
cp "$ROOT/examples/auth.log" "$ROOT/examples/vsftpd.log" "$WORK/"
CONF=$WORK/tweet-attacks.toml
cat >"$CONF" <<TOML
state = "$WORK/state.json"
auth-log = "$WORK/auth.log"
vsftpd-log = "$WORK/vsftpd.log"
sink = ["site"]

[site]
dir = "$DIR"
url = "$URL"
contact = "mailto:$CONTACT"
title = "Attacks on test.example"
indexnow-key = "$KEY"
indexnow-url = "http://127.0.0.1:$NOTIFY_PORT/indexnow"
TOML
chmod 600 "$CONF"

serve "$DIR" "$URL"
NOTICES=$WORK/indexnow.log
CONTROL=$WORK/indexnow.control
: >"$NOTICES"
"$PY" "$HERE/fake_indexnow.py" "$NOTIFY_PORT" "$NOTICES" "$CONTROL" &
fake_pid=$!
for _ in $(seq 100); do
    curl -s --noproxy '*' -o /dev/null "http://127.0.0.1:$NOTIFY_PORT/" && break
    sleep 0.05
done

RC=0
tool() { # tool ARGS...: the tool at $NOW, its exit status in RC, output in $WORK/out, $WORK/err
    RC=0
    TWEET_ATTACKS_NOW=$NOW "$BIN" "$@" --config "$CONF" >"$WORK/out" 2>"$WORK/err" || RC=$?
    [ "$RC" -eq 0 ] || sed 's/^/    stderr: /' "$WORK/err" | head -n 5
}

# kill_at POINT ARGS...: the tool run with ARGS, paused at POINT (src/fault.rs;
# POINT#N for its Nth pass) and SIGKILLed there. PAUSED is the point the
# run says it paused at (empty if it ended first), RC its exit status.
kill_at() {
    local point=$1
    shift
    rm -f "$WORK/paused"
    TWEET_ATTACKS_PAUSE_AT=$point TWEET_ATTACKS_PAUSE_FILE=$WORK/paused TWEET_ATTACKS_NOW=$NOW \
        "$BIN" "$@" --config "$CONF" >"$WORK/victim.out" 2>&1 &
    victim=$!
    for _ in $(seq 300); do
        [ -f "$WORK/paused" ] && break
        kill -0 "$victim" 2>/dev/null || break
        sleep 0.05
    done
    PAUSED=$(cat "$WORK/paused" 2>/dev/null || true)
    [ -z "$PAUSED" ] || kill -KILL "$victim"
    RC=0
    wait "$victim" 2>/dev/null || RC=$? # (bash's "Killed" notice is not news here)
    victim=
}

# The clock moves 10 minutes a step; each step's attacks are in its first minute.
STEP=0
step() {
    STEP=$((STEP + 1))
    NOW=$(date -u -d "2026-11-26 09:00 UTC + $((STEP * 10)) min" +%Y-%m-%dT%H:%M:%SZ)
}
at() { date -u -d "$NOW - 9 min + $1 sec" '+%b %e %H:%M:%S' | sed 's/  / /'; }
ssh_tries() { # ssh_tries IP N: N failed passwords, one connection each
    local i
    for i in $(seq 1 "$2"); do
        echo "$(at "$i") web01 sshd[$((7000 + STEP * 100 + i))]: Failed password for invalid user u$i from $1 port $((40000 + i)) ssh2"
    done >>"$WORK/auth.log"
}
ftp_tries() { # ftp_tries IP N
    local i
    for i in $(seq 1 "$2"); do
        echo "$(date -u -d "$NOW - 9 min + $i sec" '+%a %b %d %H:%M:%S %Y') [pid $((8000 + STEP * 100 + i))] [user$i] FAIL LOGIN: Client \"::ffff:$1\""
    done >>"$WORK/vsftpd.log"
}

# What is in the folder: "sha256  path" per file, the manifest and hidden
# files aside (what nginx serves by URL).
snapshot() {
    (cd "$DIR" && find . -type f ! -name '.*' -printf '%P\0' | sort -z | xargs -0r sha256sum) >"$1"
}
# notified_since LINE: each URL IndexNow accepted after that line of its
# log, with how many times: "COUNT URL".
notified_since() {
    tail -n +"$(($1 + 1))" "$NOTICES" | { sed -n 's/^url [0-9]* //p' || true; } | sort | uniq -c | awk '{print $1, $2}'
}
# The pages (ip/*.html) whose file changed, came or went between two snapshots.
changed_pages() {
    { diff <(grep ' ip/.*\.html$' "$1") <(grep ' ip/.*\.html$' "$2") || true; } |
        sed -n 's/^[<>] [0-9a-f]*  //p' | sort -u
}

# check_notices LABEL BEFORE-SNAPSHOT LOG-LINE [KNOWN-WINDOW]: every page that
# changed was notified once, and no URL but a changed page's was notified,
# or notified twice. With KNOWN-WINDOW, a second notice of the same change
# is reported (the at-least-once window after the POST), not failed.
check_notices() {
    local label=$1 before=$2 from=$3 window=${4:-}
    snapshot "$WORK/snap.after"
    changed_pages "$before" "$WORK/snap.after" | sed "s#^#$URL#" >"$WORK/changed"
    notified_since "$from" >"$WORK/notified"
    local missing twice stray
    missing=$(comm -23 "$WORK/changed" <(awk '{print $2}' "$WORK/notified" | sort))
    twice=$(awk '$1 > 1 {print $2 " (" $1 " times)"}' "$WORK/notified")
    stray=$(comm -13 "$WORK/changed" <(awk '{print $2}' "$WORK/notified" | sort))
    eq "$label: changed pages not notified" "" "$(echo $missing)"
    if [ -n "$window" ]; then
        eq "$label: URLs notified more than twice" "" "$(awk '$1 > 2 {print $2}' "$WORK/notified")"
        if [ -n "$twice" ]; then
            echo "note $label: notified twice in the window after the POST: $(echo $twice)"
            noted+=("$label: $(echo $twice)")
        fi
    else
        eq "$label: URLs notified more than once" "" "$(echo $twice)"
    fi
    eq "$label: URLs notified that did not change" "" "$(echo $stray)"
    say "$label: $(wc -l <"$WORK/changed") pages changed, notices: $(awk '{n += $1} END {print n + 0}' "$WORK/notified")"
}

# A reader that fetches the site over and over while runs write it: every
# answer must be a whole file (HTML that ends in </html>, JSON and XML that
# parse) or a 404, never a part. Its tally goes to $WORK/watch.out.
watch_start() {
    rm -f "$WORK/watch.stop"
    "$PY" - "$URL" "$WORK/watch.stop" >"$WORK/watch.out" 2>&1 <<'EOF' &
import json, os, re, sys, urllib.error, urllib.request, xml.dom.minidom
site, stop = sys.argv[1], sys.argv[2]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
def get(url):
    try:
        with opener.open(url, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
fetched = bad = 0
while not os.path.exists(stop):
    status, sitemap = get(site + "sitemap.xml")
    urls = [site, site + "sitemap.xml", site + "feed.atom"]
    urls += re.findall(r"<loc>([^<]*)</loc>", sitemap.decode("utf-8", "replace"))
    urls += [u[:-5] + ".json" for u in urls if u.endswith(".html")]
    for u in urls:
        status, body = get(u)
        fetched += 1
        if status == 404:
            continue
        try:
            assert status == 200, status
            if u.endswith(".json"):
                json.loads(body)
            elif u.endswith((".xml", ".atom")):
                xml.dom.minidom.parseString(body)
            else:
                assert body.rstrip().endswith(b"</html>"), "no </html>"
        except Exception as e:
            bad += 1
            print("partial: %s (%s, %d bytes): %r" % (u, status, len(body), e))
print("fetched %d, partial %d" % (fetched, bad))
EOF
    watch_pid=$!
}
watch_stop() { # watch_stop LABEL
    touch "$WORK/watch.stop"
    wait "$watch_pid" || true
    watch_pid=
    { grep '^partial' "$WORK/watch.out" || true; } | head -n 5 | sed 's/^/    /'
    eq "$1: answers nginx gave in part while the runs wrote ($(tail -n 1 "$WORK/watch.out"))" 0 \
        "$(grep -c '^partial' "$WORK/watch.out" || true)"
}

# Manifest rows (pages, not removed ones) == page files.
check_manifest() { # check_manifest LABEL
    local m=$DIR/.tweet-attacks-site.tsv
    check "$1: the manifest is there" test -f "$m"
    awk -F'\t' 'NR > 1 && $7 == "page" {print "ip/" $2 ".html"}' "$m" 2>/dev/null | sort >"$WORK/pages.manifest"
    check "$1: manifest rows == page files" diff -u "$WORK/pages.disk" "$WORK/pages.manifest"
}

# --- 1. A first run over the examples ------------------------------------------
step
# Before any run nginx has no key file: verify-credentials must say so.
tool verify-credentials --sink site
check "verify-credentials before the key file is served: fails (exit $RC)" test "$RC" -ne 0
check "verify-credentials before the key file is served: says why" test -s "$WORK/err"
snapshot "$WORK/snap.before"
from=$(wc -l <"$NOTICES")
tool run
eq "run 1 exits" 0 "$RC"
check_site "run 1"
check_manifest "run 1"
eq "run 1: pages" 3 "$(wc -l <"$WORK/pages.disk")"
tool verify-credentials --sink site
eq "verify-credentials once nginx serves the key file" 0 "$RC"
check_notices "run 1" "$WORK/snap.before" "$from"

# The busiest attacker's page, in a browser.
best=$(json_subjects "$DIR"/ip/*.json | sort -k3,3nr | head -n 1)
read -r page address tries <<<"$best"
page=${page#"$DIR/"}
check_browser "$URL${page%.json}.html" "$address" "$tries"

# --- 2. Killed at every pause point of a run that writes pages and notifies ---
# Each step brings a new attacker (a new page) and more tries from one
# already published (a changed page). The run is paused at the point,
# SIGKILLed there, then run again; the site must be whole and each change
# notified once.
points=$(grep -rhoE 'fault::point\("[^"]+"\)' "$ROOT/src" | sed -E 's/.*\("(.*)"\)/\1/' | sort -u)
# After IndexNow accepted a POST and before the manifest records it, a kill
# makes the next run send the same URLs again: the one window where a
# change may be notified twice: said, not failed (the "noted" lines).
WINDOW_POINTS=" site:indexnow-answered "
# The saves' points are passed more than once a run (the state before
# and after publishing, the site's manifest between): the later passes too.
kills="$points save:synced#2 save:synced#3 save:synced#4 save:committed#2 save:committed#3"
unreached=()
back_tries=9 # 203.0.113.45's in the examples
for point in $kills; do
    step
    ssh_tries "192.0.2.$((10 + STEP))" 7
    ssh_tries 203.0.113.45 2
    back_tries=$((back_tries + 2))
    snapshot "$WORK/snap.before"
    from=$(wc -l <"$NOTICES")
    watch_start
    kill_at "$point" run
    if [ -z "$PAUSED" ]; then
        unreached+=("$point (the run ended: $RC)")
        say "$point: not reached by this run (it ended with $RC)"
        eq "unpaused run at $point exits" 0 "$RC"
        label="run past $point"
    else
        label="killed at $point"
        eq "$label: the run paused there" "${point%%#*}" "$PAUSED"
        eq "$label: it died of SIGKILL (128 + 9)" 137 "$RC"
        # What nginx serves between the kill and the next run.
        check "$label: before the next run, every HTML and JSON file parses whole" all_parse
        left=$(find "$DIR" -name '.*.tmp' | wc -l)
        [ "$left" -eq 0 ] || say "$label: $left temp files in the folder until the next run"
        tool run
        eq "$label: the next run exits" 0 "$RC"
    fi
    watch_stop "$label"
    check_site "$label"
    check_manifest "$label"
    # The table is the truth (a step lost by an earlier kill is made up
    # by the next whole run, so a loss shows at its own step only).
    tool show --json 203.0.113.45
    table_tries=$(sed -E 's/.*"tries":([0-9]+).*/\1/' "$WORK/out")
    say "$label: 203.0.113.45 has $table_tries tries in the table, $back_tries in the logs"
    eq "$label: the page of 203.0.113.45, back with more, shows the table's tries" "$table_tries" \
        "$(json_subjects "$DIR/ip/203.0.113.45.json" | awk '{print $3}')"
    case $WINDOW_POINTS in
    *" $point "*) check_notices "$label" "$WORK/snap.before" "$from" window ;;
    *) check_notices "$label" "$WORK/snap.before" "$from" ;;
    esac
done
reached_site=$(for p in $points; do case $p in site:* | indexnow:*) echo "$p" ;; esac; done)
eq "the site's pause points a run goes through" "" \
    "$(for u in "${unreached[@]}"; do case $u in site:* | indexnow:*) echo "${u%% *}" ;; esac; done)"
say "the site's pause points: $(echo $reached_site)"

# --- 3. IndexNow says 429: the change waits, then goes once -------------------
step
ssh_tries 203.0.113.45 2
snapshot "$WORK/snap.before"
from=$(wc -l <"$NOTICES")
echo "429 1" >"$CONTROL"
tool run
say "run under 429 exits $RC: $(head -n 1 "$WORK/err")"
eq "under 429: URLs accepted" "" "$(notified_since "$from")"
rm -f "$CONTROL"
sleep 1
step
tool run
eq "after 429: the run exits" 0 "$RC"
check_site "after 429"
check_notices "after 429" "$WORK/snap.before" "$from"

# --- 3b. IndexNow says 403: parked, shown, sent once when put back ----------
step
ssh_tries 192.0.2.200 7
snapshot "$WORK/snap.before"
from=$(wc -l <"$NOTICES")
echo 403 >"$CONTROL"
tool run
check "under 403: the run fails, saying so (exit $RC)" test "$RC" -ne 0
rm -f "$CONTROL"
tool status
check "under 403: status shows the parked notice" grep -q 403 "$WORK/out"
tool outbox
check "under 403: outbox shows the parked notice" grep -q 403 "$WORK/out"
step
tool run
eq "403 parked: the next run sends nothing" "" "$(notified_since "$from")"
tool outbox retry all
eq "outbox retry all exits" 0 "$RC"
step
tool run
eq "after outbox retry all: the run exits" 0 "$RC"
check_site "after 403"
check_notices "after 403" "$WORK/snap.before" "$from"

# --- 4. site remove: gone everywhere, told, never published again -------------
# IndexNow hears of it from the remove itself; the next run sends it
# no more: once, over both.
GONE=198.51.100.77
gone_page=$(awk -F'\t' -v a="$GONE" '$3 == a && $7 == "page" {print "ip/" $2 ".html"}' "$DIR/.tweet-attacks-site.tsv")
check "remove: $GONE has a page to remove ($gone_page)" test -n "$gone_page" -a -f "$DIR/$gone_page"
step
snapshot "$WORK/snap.before"
from=$(wc -l <"$NOTICES")
# Killed once after its pages went (the removal saved first, the manifest
# not yet): said again, it finishes, and tells IndexNow.
kill_at site:pages-written site remove "$GONE" --reason "a test: the address was ours"
eq "site remove: paused at" site:pages-written "${PAUSED:-(never paused: $RC, $(tail -n 1 "$WORK/victim.out"))}"
eq "site remove: died of SIGKILL (128 + 9)" 137 "$RC"
check "site remove killed: every HTML and JSON file parses whole" all_parse
tool site remove "$GONE" --reason "a test: the address was ours"
eq "site remove exits" 0 "$RC"
eq "remove: IndexNow heard of it from the remove itself" 1 "$(notified_since "$from" | grep -cF "$gone_page" || true)"
gone_is_down() { # gone_is_down LABEL: the page, its twin and every mention gone
    eq "$1: the page via nginx" 404 "$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "$URL$gone_page")"
    eq "$1: its JSON via nginx" 404 "$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "$URL${gone_page%.html}.json")"
    check_site "$1"
    check_manifest "$1"
    check "$1: not in the sitemap" bash -c "! grep -qF '$gone_page' '$WORK/locs'"
    check "$1: not named by the index" bash -c "! grep -qF '$GONE' '$WORK/got/index.html'"
    check "$1: not named by the feed" bash -c "! grep -qF '$GONE' '$WORK/got/feed.atom'"
}
gone_is_down "after remove"
step
ftp_tries "$GONE" 8
tool run
eq "remove, then $GONE again: the run exits" 0 "$RC"
gone_is_down "remove, then $GONE again"
check_notices "remove and the next run" "$WORK/snap.before" "$from"
eq "remove: IndexNow told of $gone_page" "1 $URL$gone_page" "$(notified_since "$from" | grep -F "$gone_page")"

# --- 5. site rebuild, killed once and run whole --------------------------------
# As after an upgrade that changed the layout: a page and the index are not
# what they should be. The rebuild is killed where it saves the manifest
# (its first save), then run whole; the next run tells IndexNow.
step
snapshot "$WORK/snap.before"
from=$(wc -l <"$NOTICES")
rm "$DIR/ip/203.0.113.45.html" "$DIR/index.html"
kill_at save:synced site rebuild
eq "site rebuild: paused at" save:synced "${PAUSED:-(never paused: $RC, $(tail -n 1 "$WORK/victim.out"))}"
eq "site rebuild: died of SIGKILL (128 + 9)" 137 "$RC"
check "site rebuild killed: every HTML and JSON file parses whole" all_parse
tool site rebuild
eq "site rebuild exits" 0 "$RC"
say "$(cat "$WORK/out")"
tool run
eq "the run after the rebuild exits" 0 "$RC"
check_site "after rebuild"
check_manifest "after rebuild"
check "after rebuild: $GONE stays down" bash -c "! grep -qF '$gone_page' '$WORK/locs'"
check_notices "after rebuild" "$WORK/snap.before" "$from"

# --- what a visitor could also fetch -----------------------------------------
# A stock nginx serves dot files; with the README's `location ~ /\. { deny
# all; }` (in serve) it refuses them, the manifest and the stamp first.
refused() { # refused URL: nginx answers 403 or 404
    local code
    code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "$1")
    [ "$code" = 403 ] || [ "$code" = 404 ] || { echo "    $1: $code"; return 1; }
}
for hidden in .tweet-attacks-site.tsv .tweet-attacks-derived ip/..hidden.html archive/.x; do
    check "a hidden file is refused through nginx: $hidden" refused "$URL$hidden"
done

for n in "${noted[@]}"; do say "noted: $n"; done
say "took $(($(date +%s) - t0)) s"
echo "site: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
