//! The host's own addresses (and its name), so that the machine is never announced as its
//! own attacker (a local script, a monitoring probe, a NATed hairpin).
//!
//! Read from Linux's `/proc` without new crates or subprocesses: IPv4 from
//! the kernel's local routing table (`/proc/net/fib_trie`, the `/32 host
//! LOCAL` entries), IPv6 from `/proc/net/if_inet6`. Elsewhere, or without
//! `/proc`, the list is simply empty: loopback stays ignored anyway.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

const FIB_TRIE: &str = "/proc/net/fib_trie";
const IF_INET6: &str = "/proc/net/if_inet6";

/// Every address configured on this host's interfaces (in its network
/// namespace), IPv4 and IPv6, loopback included, sorted and deduplicated.
/// Never fails: a file that cannot be read contributes nothing.
///
/// Tests name the host's addresses in `TWEET_ATTACKS_OWN_ADDRESSES`
/// (comma-separated), so that the code that leaves them out runs on any
/// host, one with loopback alone included.
pub fn own_addresses() -> Vec<IpAddr> {
    if let Some(list) = std::env::var_os("TWEET_ATTACKS_OWN_ADDRESSES") {
        return parse_list(&list.to_string_lossy());
    }
    own_addresses_from(Path::new(FIB_TRIE), Path::new(IF_INET6))
}

/// A comma-separated list of addresses, sorted and deduplicated; what is
/// not an address is left out.
fn parse_list(list: &str) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = list
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// This host's name (the kernel's, as `hostname` prints it), or "localhost".
pub fn name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// `own_addresses`, reading the two tables from the given paths.
pub fn own_addresses_from(fib_trie: &Path, if_inet6: &Path) -> Vec<IpAddr> {
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let mut out: Vec<IpAddr> = parse_fib_trie(&read(fib_trie))
        .into_iter()
        .map(IpAddr::V4)
        .chain(parse_if_inet6(&read(if_inet6)).into_iter().map(IpAddr::V6))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The host's IPv4 addresses in `/proc/net/fib_trie`: each leaf
/// (`|-- a.b.c.d`) followed by a `/32 host LOCAL` entry. Network and
/// broadcast leaves (`/24 link UNICAST`, `/32 link BROADCAST`) and the
/// loopback range (`/8 host LOCAL`) are not single addresses of ours.
pub fn parse_fib_trie(text: &str) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    let mut leaf: Option<Ipv4Addr> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(addr) = line.strip_prefix("|--") {
            leaf = addr.trim().parse().ok();
        } else if line.starts_with('/') {
            // A leaf may carry several entries: "/32 host LOCAL", "/24 link UNICAST"…
            let mut words = line.split_whitespace();
            let (prefix, _scope, kind) = (words.next(), words.next(), words.next());
            if prefix == Some("/32")
                && kind == Some("LOCAL")
                && let Some(ip) = leaf
                && !out.contains(&ip)
            {
                out.push(ip);
            }
        } else {
            // "+-- net/len …" nodes and "Main:" / "Local:" table headers end a leaf.
            leaf = None;
        }
    }
    out
}

/// The host's IPv6 addresses in `/proc/net/if_inet6`: one line per
/// address, its first field 32 hex digits (`fe80000000000000…  04 40 20 80 eth0`).
pub fn parse_if_inet6(text: &str) -> Vec<Ipv6Addr> {
    text.lines()
        .filter_map(|line| {
            let hex = line.split_whitespace().next()?;
            if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            u128::from_str_radix(hex, 16).ok().map(Ipv6Addr::from)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // A host with 192.0.2.2/24 on eth0 and 198.51.100.7/32 on a second
    // interface, as Linux 6.x prints it (Main and Local tables).
    const FIB_TRIE: &str = "\
Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 192.0.2.0/24 2 0 2
        |-- 192.0.2.0
           /24 link UNICAST
Local:
  +-- 0.0.0.0/0 3 0 5
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 192.0.2.0/24 2 0 2
        +-- 192.0.2.0/30 2 0 2
           |-- 192.0.2.0
              /24 link UNICAST
              /32 link BROADCAST
           |-- 192.0.2.2
              /32 host LOCAL
        |-- 192.0.2.255
           /32 link BROADCAST
     |-- 198.51.100.7
        /32 host LOCAL
";

    const IF_INET6: &str = "\
fd000000000000000000000000000002 04 40 00 82     eth0
00000000000000000000000000000001 01 80 10 80       lo
fe8000000000000000fc00fffe000001 04 40 20 80     eth0
not an address line
";

    #[test]
    fn fib_trie_local_host_entries_only() {
        let got = parse_fib_trie(FIB_TRIE);
        let want: Vec<Ipv4Addr> = ["127.0.0.1", "192.0.2.2", "198.51.100.7"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(got, want);
        assert!(parse_fib_trie("").is_empty());
        assert!(parse_fib_trie("garbage\n/32 host LOCAL\n|-- nope\n/32 host LOCAL").is_empty());
    }

    #[test]
    fn if_inet6_first_field() {
        let got = parse_if_inet6(IF_INET6);
        let want: Vec<Ipv6Addr> = ["fd00::2", "::1", "fe80::fc:ff:fe00:1"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(got, want);
        assert!(parse_if_inet6("").is_empty());
    }

    #[test]
    fn absent_tables_give_no_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let fib = dir.path().join("fib_trie");
        let v6 = dir.path().join("if_inet6");
        assert!(own_addresses_from(&fib, &v6).is_empty());
        std::fs::write(&fib, FIB_TRIE).unwrap();
        std::fs::write(&v6, IF_INET6).unwrap();
        let got = own_addresses_from(&fib, &v6);
        assert_eq!(got.len(), 6, "{got:?}");
        assert!(got.contains(&"192.0.2.2".parse().unwrap()));
        assert!(got.contains(&"fd00::2".parse().unwrap()));
    }

    #[test]
    fn reading_this_host_never_fails() {
        let own = own_addresses();
        let mut sorted = own.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(own, sorted);
    }
}
