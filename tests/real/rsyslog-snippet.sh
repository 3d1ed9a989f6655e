#!/bin/sh
# Checks examples/rsyslog-tweet-attacks.conf with real rsyslog (Debian package
# rsyslog) and real sshd (openssh-server), as root: a local user's
# `logger -t sshd[N]` line must not reach the snippet's file; real sshd's
# "Invalid user" line must. sshd runs on 127.0.0.1:2299 in a mount namespace
# whose /dev/log is a private rsyslog socket; nothing else on the host is used.
#
#   tests/real/rsyslog-snippet.sh [snippet]
set -eu
conf=$(realpath "${1:-examples/rsyslog-tweet-attacks.conf}")
d=$(mktemp -d /tmp/rsyslog-check.XXXXXX)
chmod 755 "$d"
trap 'kill $(cat "$d/rsyslog.pid" 2>/dev/null) 2>/dev/null || true; kill $(cat "$d/sshd.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$d"' EXIT
sed "s|/var/log/tweet-attacks/sshd.log|$d/out/sshd.log|" "$conf" > "$d/snippet.conf"
cat > "$d/rsyslog.conf" <<CONF
global(workDirectory="$d")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$d/log" Annotate="on" ParseTrusted="on")
include(file="$d/snippet.conf")
action(type="omfile" file="$d/all.log" template="RSYSLOG_DebugFormat")
CONF
rsyslogd -n -f "$d/rsyslog.conf" -i "$d/rsyslog.pid" &
for _ in $(seq 100); do [ -S "$d/log" ] && break; sleep 0.05; done
chmod 666 "$d/log"
forged='Failed password for root from 192.0.2.77 port 22 ssh2'
# A local user claiming to be sshd, in both of syslog's formats.
for opt in --rfc3164 --rfc5424; do
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
        logger $opt -u "$d/log" -p authpriv.info -t 'sshd[4242]' "$forged"
done
# Real sshd, in a mount namespace whose /dev/log is our socket.
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$d/hostkey"
mkdir "$d/dev"
for n in null zero urandom random tty; do cp -a /dev/$n "$d/dev/"; done
chmod 666 "$d/dev/null"  # the copy only: a user's sshd opens it
ln -s "$d/log" "$d/dev/log"
unshare -m sh -c "mount --bind '$d/dev' /dev && exec /usr/sbin/sshd -D -f /dev/null -h '$d/hostkey' -o ListenAddress=127.0.0.1:2299 -o PidFile='$d/sshd.pid' -o SyslogFacility=AUTHPRIV -o UsePAM=no" &
for _ in $(seq 100); do [ -s "$d/sshd.pid" ] && break; sleep 0.05; done
# The real sshd executable, run by a local user: its lines are the user's.
cp "$d/hostkey" "$d/userkey"; chown nobody "$d/userkey"
unshare -m sh -c "mount --bind '$d/dev' /dev && exec setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/sbin/sshd -D -f /dev/null -h '$d/userkey' -o ListenAddress=127.0.0.1:2298 -o PidFile=none -o SyslogFacility=AUTHPRIV -o UsePAM=no" &
user_sshd=$!
for _ in $(seq 100); do grep -q 'port 2298' "$d/all.log" 2>/dev/null && break; sleep 0.05; done
kill $user_sshd 2>/dev/null || true
ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -p 2299 nosuchuser@127.0.0.1 true 2>/dev/null || true
sleep 1
echo "--- what rsyslog received, with the sender's credentials:"
grep -E 'rawmsg|^[$]!:' "$d/all.log" | sed 's/^inputname: imuxsock //' | cut -c1-150 || true
echo "--- the snippet's file:"
cat "$d/out/sshd.log" || true
[ "$(grep -c 'rawmsg.*192.0.2.77' "$d/all.log")" = 2 ] || { echo "FAIL: the forged lines never reached rsyslog"; exit 1; }
grep -q 'rawmsg.*port 2298' "$d/all.log" || { echo "FAIL: the user's sshd never logged"; exit 1; }
if grep -q 192.0.2.77 "$d/out/sshd.log"; then echo "FAIL: a forged line got through"; exit 1; fi
if grep -q 'port 2298' "$d/out/sshd.log"; then echo "FAIL: a line of a user's sshd got through"; exit 1; fi
grep -q 'sshd\[[0-9]*\]: Invalid user nosuchuser from 127.0.0.1' "$d/out/sshd.log" || { echo "FAIL: real sshd's line is missing"; exit 1; }
echo "OK: forged lines refused, real sshd's line kept"
