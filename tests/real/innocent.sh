#!/bin/bash
# Attacks that try to make tweet-attacks accuse an innocent address, made
# live against Debian's real sshd and vsftpd, logging through real rsyslog
# with the reference's snippet (examples/rsyslog-tweet-attacks.conf); then the
# built tool reads what they wrote. No address but the attacking clients'
# may ever be counted. Run as root on Debian 12:
#
#   bash tests/real/innocent.sh            # attack, then check the tool
#   bash tests/real/innocent.sh --capture  # also write tests/fixtures/real/attacks/
#   bash tests/real/innocent.sh --bpo      # bookworm-backports' OpenSSH 10 instead
#   bash tests/real/innocent.sh --check DIR  # only check the tool over DIR's logs
#
# Everything runs in network namespaces on TEST-NET addresses, as in
# capture.sh: the innocent addresses are only text inside the requests, and
# no packet leaves the machine. The daemons run in a private mount
# namespace with their own /dev/log, /run, /home, PAM files and accounts.
# Last line: `innocent: N passed, M failed`; exit 1 when any check fails.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3   # Debian's python3, which has python3-paramiko
SRV4=192.0.2.1      # the server, in ti-srv (netns.sh)
SRV6=2001:db8::1
# The texts the attacks plant. None of them may ever be counted.
FAKE4=8.8.8.8
FAKE6=2001:4860:4860::8888
FAKE_INFO=10.10.1.2
# name address/prefix gateway: the attacking hosts.
CLIENT4=198.51.100.40/24
CLIENTS="
s4 $CLIENT4 198.51.100.1
s6 2001:db8::40/64 2001:db8::1
f4 203.0.113.40/24 203.0.113.1
"

NS=ti
# shellcheck source=tests/real/netns.sh
. "$HERE/netns.sh"

# --- the server side, run inside ti-srv with private mounts ------------------
if [ "${1:-}" = serve ]; then
    W=$2
    private_dev_run "$W"
    for f in pam.d/sshd pam.d/vsftpd passwd shadow group; do
        mount --bind "$W/etc/$f" "/etc/$f"
    done
    mount --bind "$W/home" /home
    bpo=${3:-}
    if [ -n "$bpo" ]; then
        # Backports' sshd at Debian's paths, which the rsyslog snippet
        # checks ($!exe): sshd, and sshd-session and sshd-auth beside it.
        mount -t tmpfs -o mode=755 openssh /usr/lib/openssh
        cp -a "$bpo/usr/lib/openssh/." /usr/lib/openssh/
        mount --bind "$bpo/usr/sbin/sshd" /usr/sbin/sshd
    fi
    rsyslogd -f "$W/rsyslog.conf" -i "$W/rsyslog.pid"
    for _ in $(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done
    /usr/sbin/sshd -D -f "$W/sshd_config" &
    sshd_pid=$!
    vsftpd "$W/vsftpd.conf" &
    ftp_pid=$!
    touch "$W/ready"
    while [ ! -e "$W/stop" ]; do sleep 0.2; done
    kill "$sshd_pid" "$ftp_pid" 2>/dev/null || true
    wait "$sshd_pid" "$ftp_pid" 2>/dev/null || true
    sleep 1
    kill "$(cat "$W/rsyslog.pid")"
    sleep 0.5
    exit 0
fi

install_packages() {
    export DEBIAN_FRONTEND=noninteractive
    local need=()
    [ -x /usr/sbin/sshd ] || need+=(openssh-server)
    command -v ssh-keygen >/dev/null || need+=(openssh-client)
    command -v vsftpd >/dev/null || need+=(vsftpd)
    command -v rsyslogd >/dev/null || need+=(rsyslog)
    command -v ip >/dev/null || need+=(iproute2)
    command -v openssl >/dev/null || need+=(openssl)
    $PY -c 'import paramiko' 2>/dev/null || need+=(python3-paramiko)
    [ ${#need[@]} = 0 ] && return 0
    # No daemon may start on the host during the install.
    local rc=/usr/sbin/policy-rc.d made=
    if [ ! -e $rc ]; then printf '#!/bin/sh\nexit 101\n' >$rc; chmod +x $rc; made=1; fi
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
    [ -n "$made" ] && rm -f $rc
    return 0
}

write_configs() {
    mkdir -p "$W/etc/pam.d" "$W/home/eve" "$W/rs" "$W/keys"
    chmod 755 "$W" "$W/home"
    ssh-keygen -q -t ed25519 -N '' -f "$W/host_ed25519" -C innocent
    cat >"$W/sshd_config" <<CONF
ListenAddress $SRV4
ListenAddress $SRV6
HostKey $W/host_ed25519
PidFile $W/sshd.pid
UsePAM yes
PasswordAuthentication yes
KbdInteractiveAuthentication yes
PubkeyAuthentication yes
AuthorizedKeysFile $W/no_keys
PermitRootLogin yes
SyslogFacility AUTH
LogLevel INFO
UseDNS no
MaxStartups 100
CONF
    # OpenSSH >= 9.8 would refuse the same client after a few failures for
    # a while; an attacker waits, this test would rather not.
    if [ -n "$BPO" ]; then echo "PerSourcePenalties no" >>"$W/sshd_config"; fi
    # A local account, eve, with a known password: the FTP user.
    cp /etc/passwd /etc/shadow /etc/group "$W/etc/"
    echo "eve:x:1500:1500::/home/eve:/bin/sh" >>"$W/etc/passwd"
    echo "eve:$(openssl passwd -6 -salt innocent eve-secret):20000:0:99999:7:::" >>"$W/etc/shadow"
    echo "eve:x:1500:" >>"$W/etc/group"
    chown 1500:1500 "$W/home/eve"
    printf '%s\n' 'auth required pam_unix.so' 'account required pam_unix.so' \
        'session required pam_permit.so' 'password required pam_deny.so' >"$W/etc/pam.d/sshd"
    cp "$W/etc/pam.d/sshd" "$W/etc/pam.d/vsftpd"
    cat >"$W/vsftpd.conf" <<CONF
listen=NO
listen_ipv6=YES
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
pam_service_name=vsftpd
xferlog_enable=YES
xferlog_std_format=NO
vsftpd_log_file=$W/vsftpd.log
log_ftp_protocol=YES
syslog_enable=NO
secure_chroot_dir=/run/vsftpd/empty
CONF
    # doc/REFERENCE.md's setup: imuxsock with the sender's credentials, and the
    # snippet, its file moved here. all-auth.log is for reading only.
    sed "s|/var/log/tweet-attacks/sshd.log|$W/auth.log|" \
        "$ROOT/examples/rsyslog-tweet-attacks.conf" >"$W/snippet.conf"
    cat >"$W/rsyslog.conf" <<CONF
global(workDirectory="$W/rs")
module(load="imuxsock" SysSock.Annotate="on" SysSock.ParseTrusted="on" SysSock.RateLimit.Interval="0")
include(file="$W/snippet.conf")
auth,authpriv.* action(type="omfile" file="$W/all-auth.log" template="RSYSLOG_TraditionalFileFormat")
CONF
}


# User certificates whose key ID is attacker text, signed by a CA that sshd
# does not trust: sshd prints the key ID in `Failed publickey ... ID <id>`.
make_certs() {
    local k=$W/keys n=0 id
    ssh-keygen -q -t ed25519 -N '' -f "$k/ca" -C untrusted-ca
    # The last one is long: sshd sends at most 500 characters to syslog
    # (log.c: "%.500s"), which cuts it right after the planted text, so
    # that text ends the line. The fingerprint is 43 characters, the
    # client's port 5 digits.
    local head="Failed publickey for root from ${CLIENT4%/*} port 12345 ssh2: ED25519-CERT SHA256:"
    local tail=" from $FAKE_INFO port 55555 ssh2"
    local pad; pad=$(printf '%*s' $((500 - ${#head} - 43 - 4 - ${#tail})) '' | tr ' ' x)
    while IFS= read -r id; do
        n=$((n + 1))
        ssh-keygen -q -t ed25519 -N '' -f "$k/user$n" -C attacker
        ssh-keygen -q -s "$k/ca" -I "$id" -n root,eve -z "$n" "$k/user$n.pub"
    done <<IDS
 from $FAKE4 port 22 ssh2: x
x ssh2: from $FAKE_INFO port 55555 ssh2
$FAKE6 port 22 ssh2
$pad$tail
IDS
}

attack() {
    local jobs=()
    # 1. sshd's service field: the issue's form, for valid users (root, eve)
    #    and a made-up one, over IPv4 and IPv6, 6 connections each.
    in_ns s4 $PY "$HERE/innocent.py" service-trick "$SRV4" root,eve,oracle "$FAKE4" 6 &
    jobs+=($!)
    in_ns s6 $PY "$HERE/innocent.py" service-trick "$SRV6" root,eve "$FAKE6" 6 &
    jobs+=($!)
    wait "${jobs[@]}"; jobs=()
    # The service, or the user, changed in the second request.
    in_ns s4 $PY "$HERE/innocent.py" service-change "$SRV4" root "$FAKE4" 3
    in_ns s6 $PY "$HERE/innocent.py" service-change "$SRV6" root "$FAKE6" 3
    # User names that carry the text of an sshd line.
    in_ns s4 $PY "$HERE/innocent.py" user-names "$SRV4" "$FAKE4" 1 &
    jobs+=($!)
    in_ns s6 $PY "$HERE/innocent.py" user-names "$SRV6" "$FAKE6" 1 &
    jobs+=($!)
    wait "${jobs[@]}"
    # Text sshd's packet layer logs: the client's disconnect message, its
    # key exchange offer, an identification line that is none.
    for kind in disconnect-text kex-offer banner; do
        in_ns s4 $PY "$HERE/innocent.py" $kind "$SRV4" "$FAKE4"
        in_ns s6 $PY "$HERE/innocent.py" $kind "$SRV6" "$FAKE6"
    done
    # 3. Certificate key IDs, after 3 wrong passwords (MaxAuthTries 6
    #    leaves room for 3 keys), for root and eve, over IPv4 and IPv6.
    local k=$W/keys
    in_ns s4 $PY "$HERE/innocent.py" cert-ids "$SRV4" root 3 "$k/user4-cert.pub" "$k/user1-cert.pub" "$k/user2-cert.pub"
    in_ns s4 $PY "$HERE/innocent.py" cert-ids "$SRV4" eve 3 "$k/user3-cert.pub"
    in_ns s6 $PY "$HERE/innocent.py" cert-ids "$SRV6" root 3 "$k/user1-cert.pub" "$k/user2-cert.pub" "$k/user3-cert.pub"
    # 2. vsftpd: a logged-in user's MKD, and no login with log_ftp_protocol.
    in_ns f4 $PY "$HERE/innocent.py" ftp-mkd "$SRV4" eve eve-secret "$FAKE4"
    in_ns f4 $PY "$HERE/innocent.py" ftp-unauth "$SRV4" "$FAKE4"
    in_ns f4 $PY "$HERE/innocent.py" ftp-unauth "$SRV4" "$FAKE6"
}

# --- the checks: the built tool over what the daemons wrote -----------------
PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

# Which addresses the tool names in its JSON lines, one a line.
named() { $PY "$HERE/innocent.py" addresses; }

# Prints the named addresses that are no client's (empty when all is well).
not_clients() {
    local ip c ok
    while read -r ip; do
        [ -n "$ip" ] || continue
        ok=
        while read -r _ c _; do
            [ -n "$c" ] && { [ "$ip" = "${c%/*}" ] || [ "$ip" = "::ffff:${c%/*}" ]; } && ok=1
        done <<<"$CLIENTS"
        [ -n "$ok" ] || printf '%s ' "$ip"
    done
}

# One attack: label, log file, the least number of lines it must have
# written (A/B: A by sshd[pid], B by OpenSSH 10's sshd-session[pid]), and
# an extended regular expression that picks them out.
ATTACKS=(
    "sshd service field (first request), IPv4|auth.log|18|not allowed: \((root|eve|oracle),x+ 8\.8\.8\.8 port 22"
    "sshd service field (first request), IPv6|auth.log|12|not allowed: \((root|eve),x+ 2001:4860:4860::8888"
    "sshd service changed in the second request|auth.log|6|\(root,ssh-connection\) -> \(root, from "
    "sshd user changed in the second request|auth.log|6|\(root,ssh-connection\) -> \(x"
    "sshd user names that carry a line's text|auth.log|12|(Invalid user|Failed password for invalid user|Connection closed by invalid user) x (from )?(8\.8\.8\.8|2001:4860:4860::8888) port 22"
    "sshd: the client's disconnect message|auth.log|4|Received disconnect from .*:11: (Failed password for root|Bye) from"
    "sshd: the client's key exchange offer|auth.log|2|Their offer: x from (8\.8\.8\.8|2001:4860:4860::8888) port 22 ssh2"
    "sshd: an identification line that is none (OpenSSH 10: VERBOSE)|auth.log|2/0|client sent invalid protocol identifier \"Failed password for root from"
    "sshd certificate key IDs|auth.log|6|Failed publickey for .* ID ( from|x ssh2|2001:4860)"
    "sshd certificate key ID cut by syslog's 500 characters|auth.log|1|Failed publickey for .* ID xxxxxxxxxx.* port 55555 ssh2$"
    "vsftpd paths of a logged-in user (OK and FAIL MKDIR)|vsftpd.log|7|MKDIR: Client "
    "vsftpd paths of a logged-in user (RENAME, RMDIR, UPLOAD, DELETE)|vsftpd.log|6|(RENAME|RMDIR|UPLOAD|DELETE): Client "
    "vsftpd protocol log before USER (log_ftp_protocol)|vsftpd.log|6|\[pid [0-9]+\] FTP command: Client \"[^\"]*\", \"(HELP|SITE|USER) .*FAIL LOGIN"
    "vsftpd protocol log between USER and PASS|vsftpd.log|4|\[x\] FTP command: Client \"[^\"]*\", \"(HELP|SITE) .*FAIL LOGIN"
    "vsftpd user name in brackets (USER x] FAIL LOGIN: ...)|vsftpd.log|4|\[x\] FAIL LOGIN: Client \"(8\.8\.8\.8|2001:4860:4860::8888)\] "
    "vsftpd user name that is an address|vsftpd.log|2|\[(8\.8\.8\.8|2001:4860:4860::8888)\] FAIL LOGIN"
    "vsftpd PAM ruser (the FTP user name)|auth.log|2|vsftpd: pam_unix\(vsftpd:auth\): authentication failure;.* ruser=(8\.8\.8\.8|2001:4860:4860::8888) "
)

check() { # the folder with auth.log and vsftpd.log
    local d=$1 row label file min re lines n wrong c session=
    grep -q ' sshd-session\[' "$d/auth.log" && session=1
    for row in "${ATTACKS[@]}"; do
        IFS='|' read -r label file min re <<<"$row"
        if [ -n "$session" ]; then min=${min#*/}; else min=${min%/*}; fi
        lines=$(grep -E -- "$re" "$d/$file" || true)
        n=$(grep -c . <<<"$lines" || true)
        if [ "$n" -ge "$min" ]; then pass "$label: the daemon wrote $n line(s)"
        else fail "$label: the daemon wrote $n line(s), want at least $min"; fi
        wrong=$("$TOOL" parse - <<<"$lines" 2>/dev/null | named | not_clients)
        if [ -z "$wrong" ]; then pass "$label: no address but the client's counted"
        else fail "$label: counted for ${wrong% }"; fi
    done
    for file in auth.log vsftpd.log; do
        wrong=$("$TOOL" parse "$d/$file" 2>/dev/null | named | not_clients)
        if [ -z "$wrong" ]; then pass "parse $file: no address but the clients' counted"
        else fail "parse $file: counted for ${wrong% }"; fi
    done
    local replay
    replay=$("$TOOL" replay --json --threshold 0 --ipv6-prefix 128 --passwd /dev/null \
        "$d/auth.log" "$d/vsftpd.log" 2>/dev/null | named)
    wrong=$(not_clients <<<"$replay")
    if [ -z "$wrong" ]; then pass "replay: no attacker but the clients"
    else fail "replay: attackers ${wrong% } (none of them attacked)"; fi
    # `run` to the stdout sink, as cron runs it, then `show --json`: the
    # table holds no other attacker, and no post names an innocent address.
    local state posts shown ip
    state=$(mktemp -d)
    posts=$("$TOOL" run --state "$state/state.json" --auth-log "$d/auth.log" \
        --vsftpd-log "$d/vsftpd.log" --passwd /dev/null --ipv6-prefix 128 --threshold 0 \
        --sink stdout 2>/dev/null || true)
    shown=$("$TOOL" show --json --state "$state/state.json" 2>/dev/null | named)
    rm -rf "$state"
    wrong=$(not_clients <<<"$shown")
    if [ -n "$shown" ] && [ -z "$wrong" ]; then pass "run, then show: no attacker but the clients"
    else wrong=${wrong% }; fail "run, then show: attackers ${wrong:-none at all}"; fi
    wrong=
    for ip in $FAKE4 $FAKE6 $FAKE_INFO; do
        grep -qF -- "$ip" <<<"$posts" && wrong+="$ip "
    done
    if [ -z "$wrong" ]; then pass "run's posts name no innocent address"
    else fail "run's posts name ${wrong% }"; fi
    # The clients' own plain failures (wrong passwords, FTP logins) still count.
    while read -r _ c _; do
        [ -n "$c" ] || continue
        if grep -qxF "${c%/*}" <<<"$replay"; then pass "replay: the client ${c%/*} is counted"
        else fail "replay: the client ${c%/*} is not counted"; fi
    done <<<"$CLIENTS"
}

tool() {
    if [ -n "${TWEET_ATTACKS:-}" ]; then TOOL=$TWEET_ATTACKS; return; fi
    if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    (cd "$ROOT" && cargo build --release -q)
    TOOL=${CARGO_TARGET_DIR:-$ROOT/target}/release/tweet-attacks
}

summary() {
    echo "innocent: $PASSED passed, $FAILED failed"
    [ "$FAILED" = 0 ]
}

if [ "${1:-}" = --check ]; then
    tool
    check "${2:?--check needs the folder of auth.log and vsftpd.log}"
    summary
    exit
fi

[ "$(id -u)" = 0 ] || { echo "innocent.sh: run as root" >&2; exit 1; }
CAPTURE= BPO= SSHD_VERSION=$(dpkg-query -W -f '${Version}' openssh-server 2>/dev/null || true)
for arg; do
    case $arg in
        --capture) CAPTURE=1 ;;
        --bpo)
            # bookworm-backports' OpenSSH (sshd-session), unpacked by capture.sh.
            BPO=/var/tmp/tweet-attacks-capture/openssh-bpo
            [ -x "$BPO/usr/sbin/sshd" ] || bash "$HERE/capture.sh" fetch-bpo
            SSHD_VERSION=$(cat "$BPO/VERSION") ;;
        *) echo "innocent.sh: unknown argument $arg (--capture, --bpo, --check DIR)" >&2; exit 2 ;;
    esac
done

W=$(mktemp -d /var/tmp/tweet-attacks-innocent.XXXXXX)
trap 'touch "$W/stop"; sleep 3; net_down; rm -rf "$W"' EXIT
[ -n "${SKIP_INSTALL:-}" ] || install_packages
tool
write_configs
make_certs
net_up
ip netns exec "$NS-srv" unshare --mount --uts --propagation private \
    bash "$0" serve "$W" "$BPO" >"$W/serve.out" 2>&1 &
serve=$!
for _ in $(seq 100); do [ -e "$W/ready" ] && break; sleep 0.1; done
sleep 1
attack
sleep 2
touch "$W/stop"
wait "$serve" || cat "$W/serve.out" >&2
if [ -n "$CAPTURE" ]; then
    # Debian 12's sshd in attacks/, any other in attacks-<upstream version>/.
    CAPTURE=$ROOT/tests/fixtures/real/attacks
    if [ -n "$BPO" ]; then v=${SSHD_VERSION#*:}; CAPTURE=$CAPTURE-${v%%-*}; fi
    mkdir -p "$CAPTURE"
    install -m 644 "$W/auth.log" "$W/vsftpd.log" "$CAPTURE/"
    cat >"$CAPTURE/truth.json" <<JSON
{
 "clients": {
  "${CLIENT4%/*}": "sshd over IPv4: service field, changed service and user, user names, disconnect message, key exchange offer, identification line, certificate key IDs, wrong passwords",
  "2001:db8::40": "sshd over IPv6: the same",
  "203.0.113.40": "vsftpd: paths of the local user eve (MKD, RNFR/RNTO, RMD, STOR, DELE), commands and user names before login"
 },
 "innocent": ["$FAKE4", "$FAKE6", "$FAKE_INFO"],
 "rule": "No address but a client's may ever be counted; an innocent one never.",
 "versions": [
  "openssh-server $SSHD_VERSION",
  "vsftpd $(dpkg-query -W -f '${Version}' vsftpd)",
  "rsyslog $(dpkg-query -W -f '${Version}' rsyslog)",
  "python3-paramiko $(dpkg-query -W -f '${Version}' python3-paramiko)"
 ]
}
JSON
    echo "innocent: wrote $CAPTURE"
fi
check "$W"
summary
