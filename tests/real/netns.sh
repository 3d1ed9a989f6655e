# Sourced by capture.sh and innocent.sh: the network namespaces the daemons
# and their attackers run in, and the server's private mounts.
#
# NS names the namespaces (NS-srv, NS-<client>); CLIENTS holds one line per
# attacking host: "name address/prefix gateway [more fields]". The server
# namespace has every gateway address on one bridge, so no packet leaves.

net_down() {
    local name _
    while read -r name _; do
        [ -n "$name" ] && ip netns del "$NS-$name" 2>/dev/null || true
    done <<<"$CLIENTS"
    ip netns del "$NS-srv" 2>/dev/null || true
}

net_up() {
    net_down
    ip netns add "$NS-srv"
    ip -n "$NS-srv" link set lo up
    ip -n "$NS-srv" link add br0 type bridge
    ip -n "$NS-srv" link set br0 up
    for a in 192.0.2.1/24 198.51.100.1/24 203.0.113.1/24; do ip -n "$NS-srv" addr add $a dev br0; done
    ip -n "$NS-srv" -6 addr add 2001:db8::1/64 dev br0 nodad
    local name addr gw _
    while read -r name addr gw _; do
        [ -n "$name" ] || continue
        ip netns add "$NS-$name"
        ip link add "v$name" netns "$NS-srv" type veth peer name eth0 netns "$NS-$name"
        ip -n "$NS-srv" link set "v$name" master br0 up
        ip -n "$NS-$name" link set lo up
        ip -n "$NS-$name" link set eth0 up
        if [[ $addr == *:* ]]; then
            ip -n "$NS-$name" -6 addr add "$addr" dev eth0 nodad
            ip -n "$NS-$name" -6 route add default via "$gw"
        else
            ip -n "$NS-$name" addr add "$addr" dev eth0
            ip -n "$NS-$name" route add default via "$gw"
        fi
    done <<<"$CLIENTS"
}

in_ns() { local n=$1; shift; ip netns exec "$NS-$n" "$@"; }

# Inside the server's own mount namespace: a private /dev, whose /dev/log
# will be the capture's rsyslog, and a private /run, so that the host's
# syslog and daemons are neither used nor touched. $1: the work folder.
private_dev_run() {
    local w=$1 n
    hostname web01
    mkdir -p "$w/hostdev"
    mount --bind /dev "$w/hostdev"
    mount -t tmpfs -o mode=755 devs /dev
    for n in null zero full random urandom tty ptmx; do
        touch "/dev/$n"
        mount --bind "$w/hostdev/$n" "/dev/$n"
    done
    mkdir /dev/pts /dev/shm
    mount --bind "$w/hostdev/pts" /dev/pts
    ln -s /proc/self/fd /dev/fd
    mount -t tmpfs -o mode=755 run /run
    mkdir -p /run/sshd /run/vsftpd/empty
}
