//! Where an address is: on the internet (global unicast, announced) or
//! internal (counted and shown, never announced). Pure.
//!
//! An internal host guessing passwords matters to the admin, not to the
//! world, and an address that no host on the internet can send from
//! (multicast, broadcast, "this network") names nobody: neither is ever
//! announced. The documentation ranges (192.0.2.0/24, 198.51.100.0/24,
//! 203.0.113.0/24, 2001:db8::/32, 3fff::/20) stand in for internet
//! addresses in examples and tests, as RFC 5737 and RFC 3849 intend, and no
//! real log holds them, so they count as global here; AbuseIPDB, which
//! takes only real attackers, leaves them out (`sink::abuseipdb`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// (network, prefix length) pairs: IPv4 that is not an internet host's own.
const V4_INTERNAL: [(u32, u32); 11] = [
    (0x0000_0000, 8),  // 0.0.0.0/8 "this network"
    (0x0A00_0000, 8),  // 10.0.0.0/8 private
    (0x6440_0000, 10), // 100.64.0.0/10 shared (CGNAT)
    (0x7F00_0000, 8),  // 127.0.0.0/8 loopback
    (0xA9FE_0000, 16), // 169.254.0.0/16 link-local
    (0xAC10_0000, 12), // 172.16.0.0/12 private
    (0xC000_0000, 24), // 192.0.0.0/24 IETF protocol assignments
    (0xC0A8_0000, 16), // 192.168.0.0/16 private
    (0xC612_0000, 15), // 198.18.0.0/15 benchmarking
    (0xE000_0000, 4),  // 224.0.0.0/4 multicast
    (0xF000_0000, 4),  // 240.0.0.0/4 reserved, with 255.255.255.255
];

/// Inside 2000::/3, IANA's global unicast block, what is not a host's own.
const V6_INTERNAL: [(u128, u32); 1] = [
    (0x2001_0002 << 96, 48), // 2001:2::/48 benchmarking
];

/// Whether `n` is inside the network `net`/`len` (of a `bits`-bit space).
pub fn within<T>(n: T, (net, len): (T, u32), bits: u32) -> bool
where
    T: Copy + PartialEq + std::ops::Shr<u32, Output = T>,
{
    len == 0 || n >> (bits - len) == net >> (bits - len)
}

/// A global unicast address: one a host on the internet attacks from. An
/// IPv4-mapped address is its IPv4 address.
pub fn is_global(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => is_global_v6(v6),
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let n = u32::from(ip);
    !V4_INTERNAL.iter().any(|&net| within(n, net, 32))
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let n = u128::from(ip);
    // Outside 2000::/3 is loopback, unspecified, IPv4-compatible and
    // translated forms (64:ff9b::/96, 64:ff9b:1::/48), discard (100::/64),
    // SRv6 (5f00::/16), unique-local (fc00::/7), link-local (fe80::/10),
    // multicast (ff00::/8) or not allocated.
    within(n, (0x2000 << 112, 3), 128) && !V6_INTERNAL.iter().any(|&net| within(n, net, 128))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_and_global() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "169.254.1.1",
            "172.16.0.9",
            "172.31.255.255",
            "192.0.0.9",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::808:808",
            "64:ff9b:1::1",
            "100::1",
            "2001:2::1",
            "5f00::1",
            "fc00::1",
            "fd00::",
            "fe80::1",
            "fec0::1",
            "ff02::",
            "ff02::1",
            "4000::1",
        ] {
            assert!(!is_global(ip.parse().unwrap()), "{ip} is internal");
        }
        for ip in [
            "1.0.0.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.255",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.254",
            "::ffff:45.148.10.5",
            "2001:4860:4860::8888",
            "2a01:4f8::1",
            "2001:3::1",
            "3fff:ffff::1",
            // Documentation: stand-ins for internet addresses.
            "192.0.2.7",
            "198.51.100.4",
            "203.0.113.5",
            "2001:db8::1",
            "3fff::1",
        ] {
            assert!(is_global(ip.parse().unwrap()), "{ip} is global");
        }
    }

    #[test]
    fn within_a_network() {
        assert!(within(0x0A01_0203u32, (0x0A00_0000, 8), 32));
        assert!(!within(0x0B00_0000u32, (0x0A00_0000, 8), 32));
        assert!(within(5u32, (0, 0), 32), "a /0 holds everything");
    }
}
