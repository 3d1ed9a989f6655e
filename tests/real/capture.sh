#!/bin/bash
# Captures what real sshd, vsftpd and rsyslog write while real clients attack
# them, into tests/fixtures/real/openssh-<version>/. Run by hand, as root, on
# Debian 12 (bookworm). CI never runs this: `cargo test` replays the
# committed files (tests/cli/real.rs).
#
#   bash tests/real/capture.sh            # Debian 12's OpenSSH 9.2 and backports' 10.0
#   bash tests/real/capture.sh 9.2        # one of them: 9.2 or bpo
#   bash tests/real/capture.sh fetch-bpo  # only unpack backports' OpenSSH (for innocent.sh)
#
# Everything runs in network namespaces on a private bridge with TEST-NET
# addresses, so no packet leaves the machine. The daemons run in a private
# mount namespace with their own /dev/log, /run, PAM files and configs:
# the host's own sshd, vsftpd and syslog are neither started nor touched.
#
# Ground truth is recorded twice: each client's own count of the guesses it
# sent (clients/NAME.count), and a server-side tap: pam_exec placed after
# pam_unix writes one line per failed PAM authentication (tap.log), and
# vsftpd's protocol log has one "530 Login incorrect." reply per FTP guess.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$ROOT/tests/fixtures/real}
BASE=/var/tmp/tweet-attacks-capture
BPO=$BASE/openssh-bpo   # OpenSSH from bookworm-backports, unpacked, not installed
W=$BASE/run             # one capture's configs, sockets and logs
PY=/usr/bin/python3     # Debian's python3, which has python3-paramiko
NS=ta
# shellcheck source=tests/real/netns.sh
. "$HERE/netns.sh"

# --- the server side, run inside ta-srv with private mounts ------------------
if [ "${1:-}" = serve ]; then
    sshd_bin=$2
    private_dev_run "$W"
    mount --bind "$W/pam.sshd" /etc/pam.d/sshd
    mount --bind "$W/pam.vsftpd" /etc/pam.d/vsftpd
    rsyslogd -f "$W/rsyslog-reduced.conf" -i "$W/rsyslog-reduced.pid"
    rsyslogd -f "$W/rsyslog.conf" -i "$W/rsyslog.pid"
    for _ in $(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done
    "$sshd_bin" -D -f "$W/sshd_config" &
    sshd_pid=$!
    vsftpd "$W/vsftpd.conf" &
    ftp_pid=$!
    touch "$W/ready"
    while [ ! -e "$W/stop" ]; do sleep 0.2; done
    kill "$sshd_pid" "$ftp_pid" 2>/dev/null || true
    wait "$sshd_pid" "$ftp_pid" 2>/dev/null || true
    sleep 1
    kill "$(cat "$W/rsyslog.pid")"
    sleep 1
    kill "$(cat "$W/rsyslog-reduced.pid")"
    sleep 0.5
    exit 0
fi

[ "$(id -u)" = 0 ] || { echo "capture.sh: run as root" >&2; exit 1; }
WANT=${1:-all}

# --- 1. Debian's packages ----------------------------------------------------
install_packages() {
    export DEBIAN_FRONTEND=noninteractive
    # Debian's container images have a policy-rc.d that keeps apt from
    # starting services; without one, say no for the length of the install.
    local rc=/usr/sbin/policy-rc.d made=
    if [ ! -e $rc ]; then printf '#!/bin/sh\nexit 101\n' >$rc; chmod +x $rc; made=1; fi
    apt-get update -qq
    apt-get install -y -qq openssh-server openssh-client vsftpd rsyslog sshpass \
        python3-paramiko lftp curl hydra iproute2 >/dev/null
    [ -n "$made" ] && rm -f $rc
    fetch_bpo
}

# OpenSSH >= 9.8 (sshd-session) from bookworm-backports, through apt with
# a private source list, so the host's apt sources stay as they are.
# Unpacked into $BPO, not installed. innocent.sh --bpo asks for it too.
fetch_bpo() {
    local A=$BASE/apt
    mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/debs"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main" >"$A/sources.list"
    local O=(-o Dir::Etc::SourceList="$A/sources.list" -o Dir::Etc::SourceParts=/dev/null
             -o Dir::State::Lists="$A/lists" -o Dir::Cache="$A/cache")
    apt-get "${O[@]}" update -qq
    local v
    v=$(apt-cache "${O[@]}" madison openssh-server | awk -F' *[|] *' '$2 ~ /bpo12/ {print $2; exit}')
    [ -n "$v" ] || { echo "capture.sh: no OpenSSH in bookworm-backports" >&2; return 1; }
    (cd "$A/debs" && rm -f ./*.deb && apt-get "${O[@]}" download -qq \
        "openssh-server=$v" "openssh-client=$v")
    rm -rf "$BPO" && mkdir -p "$BPO"
    for d in "$A"/debs/*.deb; do dpkg-deb -x "$d" "$BPO"; done
    echo "$v" >"$BPO/VERSION"
}

# --- 2. The network: one server, one namespace per attacking host ------------
# name address/prefix gateway(the server's own address there) connections
# that send no password: the tool counts each as one try (hydra's ssh module
# first opens one to ask for the server's methods; c7 offers keys only).
CLIENTS="
c1 198.51.100.10/24 198.51.100.1 0
c2 198.51.100.11/24 198.51.100.1 0
c3 198.51.100.12/24 198.51.100.1 0
c4 203.0.113.20/24 203.0.113.1 0
c5 203.0.113.21/24 203.0.113.1 1
c6 2001:db8::20/64 2001:db8::1 0
c7 203.0.113.22/24 203.0.113.1 2
c8 198.51.100.13/24 198.51.100.1 0
c9 203.0.113.23/24 203.0.113.1 0
f1 198.51.100.30/24 198.51.100.1 0
f2 203.0.113.30/24 203.0.113.1 0
f3 2001:db8::30/64 2001:db8::1 0
f4 192.0.2.40/24 192.0.2.1 0
"
SRV4=192.0.2.1
SRV6=2001:db8::1

# --- 3. Private configs -------------------------------------------------------
write_configs() {
    local gen=$1
    rm -rf "$W" && mkdir -p "$W/clients" "$W/rs" "$W/rs-reduced"
    ssh-keygen -q -t ed25519 -N '' -f "$W/host_ed25519" -C capture
    ssh-keygen -q -t rsa -b 2048 -N '' -f "$W/host_rsa" -C capture
    cat >"$W/sshd_config" <<CONF
ListenAddress $SRV4
ListenAddress $SRV6
HostKey $W/host_ed25519
HostKey $W/host_rsa
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
    if [ "$gen" = bpo ]; then
        printf 'SshdSessionPath %s\nSshdAuthPath %s\n' \
            "$BPO/usr/lib/openssh/sshd-session" "$BPO/usr/lib/openssh/sshd-auth" >>"$W/sshd_config"
    fi
    # Debian's common-auth, with the tap after pam_unix: it runs on failure
    # only. vsftpd gets common-auth as it is: its seccomp sandbox kills the
    # login process when pam_exec forks, so its tap is the 530 replies.
    cat >"$W/pam.sshd" <<CONF
auth [success=2 default=ignore] pam_unix.so
auth optional pam_exec.so quiet $W/tap.sh
auth requisite pam_deny.so
auth required pam_permit.so
account required pam_unix.so
session required pam_permit.so
password required pam_deny.so
CONF
    cat >"$W/pam.vsftpd" <<CONF
auth [success=1 default=ignore] pam_unix.so
auth requisite pam_deny.so
auth required pam_permit.so
account required pam_unix.so
session required pam_permit.so
CONF
    cat >"$W/tap.sh" <<CONF
#!/bin/sh
echo "\$PAM_SERVICE \$PAM_RHOST \$PAM_USER" >>$W/tap.log
CONF
    chmod +x "$W/tap.sh"
    cat >"$W/vsftpd.conf" <<CONF
listen=NO
listen_ipv6=YES
background=NO
anonymous_enable=NO
local_enable=YES
pam_service_name=vsftpd
xferlog_enable=YES
xferlog_std_format=NO
vsftpd_log_file=$W/vsftpd.log
log_ftp_protocol=YES
syslog_enable=NO
secure_chroot_dir=/run/vsftpd/empty
CONF
    # Two rsyslog instances: $RepeatedMsgReduction is global, not per action.
    # The first owns /dev/log, writes both file formats unreduced and
    # forwards every message to the second, which reduces repeats.
    cat >"$W/rsyslog.conf" <<CONF
global(workDirectory="$W/rs")
module(load="imuxsock" SysSock.Name="/dev/log" SysSock.RateLimit.Interval="0")
auth,authpriv.* action(type="omfile" file="$W/auth.trad.log" template="RSYSLOG_TraditionalFileFormat")
auth,authpriv.* action(type="omfile" file="$W/auth.iso.log" template="RSYSLOG_FileFormat")
auth,authpriv.* action(type="omfwd" target="127.0.0.1" port="10514" protocol="tcp" template="RSYSLOG_ForwardFormat")
CONF
    cat >"$W/rsyslog-reduced.conf" <<CONF
global(workDirectory="$W/rs-reduced")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="10514")
\$RepeatedMsgReduction on
auth,authpriv.* action(type="omfile" file="$W/auth.trad.reduced.log" template="RSYSLOG_TraditionalFileFormat")
auth,authpriv.* action(type="omfile" file="$W/auth.iso.reduced.log" template="RSYSLOG_FileFormat")
CONF
    for k in 1 2 3; do ssh-keygen -q -t ed25519 -N '' -f "$W/clients/key$k" -C attacker; done
}

# --- 4. The attacks -----------------------------------------------------------
# Each client writes its own count of guesses sent to clients/NAME.count.

SSH_OPTS=(-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
          -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10
          -o BatchMode=no)

# ssh answered by an askpass program that counts each prompt it answers.
ssh_askpass() { # client method user prompts
    local n=$1 method=$2 user=$3 prompts=$4
    in_ns "$n" env SSH_ASKPASS="$HERE/askpass.sh" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
        ASKPASS_COUNT="$W/clients/$n.count" setsid ssh "${SSH_OPTS[@]}" \
        -o PubkeyAuthentication=no -o PreferredAuthentications="$method" \
        -o NumberOfPasswordPrompts="$prompts" "$user@$SRV4" true </dev/null >/dev/null 2>&1 || true
}

# sshpass answers one password prompt per connection; exit 5 = it was wrong.
ssh_sshpass() { # client method user server
    local n=$1 method=$2 user=$3 srv=$4 rc=0
    in_ns "$n" env SSHPASS="wrong-$RANDOM" sshpass -e ssh "${SSH_OPTS[@]}" \
        -o PubkeyAuthentication=no -o PreferredAuthentications="$method" \
        "$user@$srv" true </dev/null >/dev/null 2>&1 || rc=$?
    [ $rc = 5 ] && echo 1 >>"$W/clients/$n.count"
    return 0
}

attack() {
    local pw=$W/clients/passwords jobs=()
    printf 'wrong-%s\n' 1 2 3 4 5 6 >"$pw"
    # c1: OpenSSH client, password, 2 connections x 3 prompts (and 5 more below).
    ( for _ in 1 2; do ssh_askpass c1 password root 3; done ) &
    jobs+=($!)
    # c2: sshpass, which answers keyboard-interactive, 5 connections.
    ( for _ in 1 2 3 4 5; do ssh_sshpass c2 keyboard-interactive root "$SRV4"; done ) &
    jobs+=($!)
    # c3: OpenSSH client, keyboard-interactive: root x5, an invalid user x5.
    ( ssh_askpass c3 keyboard-interactive root 5; ssh_askpass c3 keyboard-interactive admin 5 ) &
    jobs+=($!)
    # c4: paramiko, password for invalid users, then keyboard-interactive.
    in_ns c4 $PY "$HERE/attack.py" ssh-password "$SRV4" oracle,test,guest 2 "$W/clients/c4.count" &
    jobs+=($!)
    # c5: hydra, password, 2 parallel tasks.
    ( in_ns c5 hydra -I -V -t 2 -l root -P "$pw" "ssh://$SRV4" >"$W/clients/c5.out" 2>&1 || true
      grep -c '^\[\(RE-\)\?ATTEMPT\]' "$W/clients/c5.out" >"$W/clients/c5.count" || true ) &
    jobs+=($!)
    # c6: sshpass over IPv6, password, an invalid user, 4 connections.
    ( for _ in 1 2 3 4; do ssh_sshpass c6 password ubuntu "$SRV6"; done ) &
    jobs+=($!)
    # c7: publickey only, 3 unknown keys per connection: root, then an invalid user.
    ( for u in root git; do
        in_ns c7 setsid ssh "${SSH_OPTS[@]}" -o IdentitiesOnly=yes -o PreferredAuthentications=publickey \
            -i "$W/clients/key1" -i "$W/clients/key2" -i "$W/clients/key3" "$u@$SRV4" true \
            </dev/null >/dev/null 2>&1 || true
        echo 3 >>"$W/clients/c7.count"
      done ) &
    jobs+=($!)
    # c8: sshpass, password, an invalid user, 12 connections back to back:
    # enough for OpenSSH >= 9.8's PerSourcePenalties to refuse some.
    ( for _ in $(seq 12); do ssh_sshpass c8 password support "$SRV4"; done ) &
    jobs+=($!)
    # c9: paramiko, 8 passwords for root on one connection (MaxAuthTries 6).
    in_ns c9 $PY "$HERE/attack.py" ssh-maxtries "$SRV4" root,oracle 8 "$W/clients/c9.count" &
    jobs+=($!)
    # f1: lftp, 3 logins; each PASS it sends is in its debug output.
    ( for u in admin ftp root; do
        in_ns f1 lftp -d -e 'set net:max-retries 1; set net:reconnect-interval-base 1; set ftp:ssl-allow no; ls; quit' \
            -u "$u,wrong-$RANDOM" "ftp://$SRV4" >>"$W/clients/f1.out" 2>&1 </dev/null || true
      done
      grep -c -- '---> PASS' "$W/clients/f1.out" >"$W/clients/f1.count" || true ) &
    jobs+=($!)
    # f2: ftplib, 2 connections x 3 logins (vsftpd's max_login_fails).
    in_ns f2 $PY "$HERE/attack.py" ftp "$SRV4" test,backup 3 "$W/clients/f2.count" &
    jobs+=($!)
    # f3: curl over IPv6, 4 logins.
    ( for u in www upload web data; do
        in_ns f3 curl -sv --max-time 10 -u "$u:wrong-$RANDOM" "ftp://[$SRV6]/" >>"$W/clients/f3.out" 2>&1 </dev/null || true
      done
      grep -c '^> PASS' "$W/clients/f3.out" >"$W/clients/f3.count" || true ) &
    jobs+=($!)
    # f4: hydra, FTP, 2 parallel tasks.
    ( in_ns f4 hydra -I -V -t 2 -l ftpuser -P "$pw" "ftp://$SRV4" >"$W/clients/f4.out" 2>&1 || true
      grep -c '^\[\(RE-\)\?ATTEMPT\]' "$W/clients/f4.out" >"$W/clients/f4.count" || true ) &
    jobs+=($!)
    # Not a bare wait: the server is a background job of this shell too.
    wait "${jobs[@]}"
    # c1 again, alone: sshd's identical lines come back to back only when no
    # other client writes between them, and rsyslog's reduction needs that.
    ssh_askpass c1 password root 5
}

# --- 5. One capture -----------------------------------------------------------
capture() {
    local gen=$1 sshd_bin ver
    if [ "$gen" = bpo ]; then
        sshd_bin=$BPO/usr/sbin/sshd
        ver=$(cat "$BPO/VERSION")
    else
        sshd_bin=/usr/sbin/sshd
        ver=$(dpkg-query -W -f '${Version}' openssh-server)
    fi
    local up=${ver#*:}; up=${up%%-*}
    local dest=$OUT/openssh-$up
    echo "capture: OpenSSH $ver -> $dest"
    write_configs "$gen"
    net_up
    ip netns exec "$NS-srv" unshare --mount --uts --propagation private \
        bash "$0" serve "$sshd_bin" >"$W/serve.out" 2>&1 &
    local serve=$!
    for _ in $(seq 100); do [ -e "$W/ready" ] && break; sleep 0.1; done
    sleep 1
    attack
    sleep 2
    touch "$W/stop"
    wait "$serve" || { cat "$W/serve.out" >&2; }
    net_down
    mkdir -p "$dest"
    for f in auth.trad.log auth.iso.log auth.trad.reduced.log auth.iso.reduced.log vsftpd.log tap.log; do
        install -m 644 "$W/$f" "$dest/$f"
    done
    $PY "$HERE/truth.py" "$W" "$dest" "$CLIENTS" \
        "openssh-server $ver" \
        "vsftpd $(dpkg-query -W -f '${Version}' vsftpd)" \
        "rsyslog $(dpkg-query -W -f '${Version}' rsyslog)" \
        "libpam-modules $(dpkg-query -W -f '${Version}' libpam-modules)"
}

# Interrupted: stop the daemons too (serve polls for the stop file).
if [ "$WANT" = fetch-bpo ]; then fetch_bpo; exit 0; fi
trap '[ -d "$W" ] && touch "$W/stop" && sleep 3; net_down' EXIT
[ -n "${SKIP_INSTALL:-}" ] || install_packages
case $WANT in
    all) capture 9.2; capture bpo ;;
    9.2 | bpo) capture "$WANT" ;;
    *) echo "capture.sh: unknown target $WANT (all, 9.2, bpo)" >&2; exit 2 ;;
esac
