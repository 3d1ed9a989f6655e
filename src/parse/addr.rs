//! Addresses as sshd and vsftpd print them, decoded from bytes.

use std::net::IpAddr;

/// Parses an address as sshd or vsftpd prints it. A hostname (UseDNS) is
/// rejected, never resolved. An IPv4 client seen through IPv6 is the IPv4
/// client (`client`).
pub(super) fn ip_from(text: &[u8]) -> Option<IpAddr> {
    parse_ip(text).map(client)
}

/// The client behind an address: `::ffff:a.b.c.d` (IPv4-mapped, a dual-stack
/// socket), `64:ff9b::a.b.c.d` (NAT64 and SIIT's well-known prefix, RFC 6052)
/// and `::a.b.c.d` (IPv4-compatible, RFC 4291's deprecated form) are the IPv4
/// client `a.b.c.d`, so that every IPv4 attacker behind one translator is
/// not counted as one IPv6 "attacker". `::` and `::1` stay as they are.
pub(crate) fn client(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else { return ip };
    let s = v6.segments();
    let v4 =
        || std::net::Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0x64, 0xff9b, 0, 0, 0, 0, _, _] => IpAddr::V4(v4()),
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 || lo > 1 => IpAddr::V4(v4()),
        _ => ip,
    }
}

/// Exactly `IpAddr::from_str`, several times faster: no UTF-8 check, and
/// the common shapes decoded by hand. Also reads the state file's addresses.
pub(crate) fn parse_ip(text: &[u8]) -> Option<IpAddr> {
    if let Some(v4) = ipv4_only(text) {
        return v4.map(IpAddr::V4);
    }
    if text.contains(&b':') && text.iter().all(|&b| is_ip_byte(b)) {
        // With a colon it can only be IPv6.
        return ipv6_from(text).map(IpAddr::V6);
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// `Ipv6Addr::from_str`, on bytes: the standard library's parser (which
/// spends thousands of instructions on one address) step by step.
fn ipv6_from(s: &[u8]) -> Option<std::net::Ipv6Addr> {
    // `read_number(10, Some(3), false)` as u8, from `i`: (value, end).
    fn dec_u8(s: &[u8], i: usize) -> Option<(u8, usize)> {
        let run = s[i.min(s.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if run == 0 || run > 3 || (run > 1 && s[i] == b'0') {
            return None;
        }
        let n = s[i..i + run]
            .iter()
            .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
        Some((u8::try_from(n).ok()?, i + run))
    }
    // `read_ipv4_addr` from `i`.
    fn v4(s: &[u8], mut i: usize) -> Option<([u8; 4], usize)> {
        let mut o = [0u8; 4];
        for (k, slot) in o.iter_mut().enumerate() {
            if k > 0 {
                if s.get(i) != Some(&b'.') {
                    return None;
                }
                i += 1;
            }
            let (n, end) = dec_u8(s, i)?;
            *slot = n;
            i = end;
        }
        Some((o, i))
    }
    // `read_number(16, Some(4), true)` as u16, from `i`.
    // One pass: a run of more than four hex digits is none.
    fn hex(s: &[u8], i: usize) -> Option<(u16, usize)> {
        let mut n = 0u16;
        let mut run = 0;
        while let Some(&c) = s.get(i + run) {
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => break,
            };
            if run == 4 {
                return None;
            }
            n = n * 16 + u16::from(d);
            run += 1;
        }
        (run > 0).then_some((n, i + run))
    }
    // `read_groups`: (groups read, ended in IPv4, end).
    fn groups(s: &[u8], mut i: usize, out: &mut [u16]) -> (usize, bool, usize) {
        let limit = out.len();
        for k in 0..limit {
            let sep = if k > 0 {
                (s.get(i) == Some(&b':')).then_some(i + 1)
            } else {
                Some(i)
            };
            let Some(j) = sep else {
                return (k, false, i);
            };
            let group = hex(s, j);
            // An IPv4 address starts with 1 to 3 digits and a dot, so only
            // where the hex digits stop at a dot (the hex run is the digits).
            let dotted = group.is_some_and(|(_, end)| s.get(end) == Some(&b'.'));
            if k + 1 < limit
                && dotted
                && let Some(([a, b, c, d], end)) = v4(s, j)
            {
                out[k] = u16::from_be_bytes([a, b]);
                out[k + 1] = u16::from_be_bytes([c, d]);
                return (k + 2, true, end);
            }
            match group {
                Some((g, end)) => {
                    out[k] = g;
                    i = end;
                }
                None => return (k, false, i),
            }
        }
        (limit, false, i)
    }
    let mut head = [0u16; 8];
    let (head_size, head_v4, i) = groups(s, 0, &mut head);
    if head_size == 8 {
        return (i == s.len()).then_some(head.into());
    }
    if head_v4 || s.get(i..i + 2) != Some(b"::") {
        return None;
    }
    let mut tail = [0u16; 7];
    let limit = 8 - (head_size + 1);
    let (tail_size, _, end) = groups(s, i + 2, &mut tail[..limit]);
    head[8 - tail_size..].copy_from_slice(&tail[..tail_size]);
    (end == s.len()).then_some(head.into())
}

/// `Some(Ipv4Addr::from_str(text).ok())` when `text` holds only digits and
/// dots, which can only be IPv4 (four parts of one to three digits, at most
/// 255, no leading zero); `None` for anything else. No UTF-8 check.
fn ipv4_only(text: &[u8]) -> Option<Option<std::net::Ipv4Addr>> {
    // The shape of nearly every address, octet by octet; anything else goes the long way.
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (k, o) in octets.iter_mut().enumerate() {
        if k > 0 {
            if text.get(i) != Some(&b'.') {
                return ipv4_only_slow(text);
            }
            i += 1;
        }
        let start = i;
        let mut n = 0u32;
        while i < text.len() && i - start < 3 && text[i].is_ascii_digit() {
            n = n * 10 + u32::from(text[i] - b'0');
            i += 1;
        }
        if i == start || n > 255 || (i - start > 1 && text[start] == b'0') {
            return ipv4_only_slow(text);
        }
        *o = n as u8;
    }
    if i != text.len() {
        return ipv4_only_slow(text);
    }
    Some(Some(octets.into()))
}

/// `ipv4_only` for any text, in one pass.
fn ipv4_only_slow(text: &[u8]) -> Option<Option<std::net::Ipv4Addr>> {
    let mut octets = [0u8; 4];
    let mut part = 0;
    let mut n = 0u32;
    let mut digits = 0u32;
    let mut ok = true;
    for &b in text {
        if b.is_ascii_digit() {
            ok &= digits < 3 && !(digits == 1 && n == 0);
            n = (n * 10 + u32::from(b - b'0')).min(1000);
            digits += 1;
        } else if b == b'.' {
            ok &= digits > 0 && n <= 255 && part < 3;
            if ok {
                octets[part] = n as u8;
            }
            part += 1;
            n = 0;
            digits = 0;
        } else {
            return None;
        }
    }
    ok &= digits > 0 && n <= 255 && part == 3;
    Some(ok.then(|| {
        octets[3] = n as u8;
        octets.into()
    }))
}

pub(super) fn is_ip_byte(b: u8) -> bool {
    b.is_ascii_hexdigit() || b == b':' || b == b'.'
}

/// A byte of an address as sshd prints it, with an IPv6 zone: `fe80::1%eth0`.
#[inline]
pub(super) fn is_addr_byte(b: u8) -> bool {
    // One load per byte: the matchers scan every address with it.
    ADDR_BYTES[b as usize]
}

/// `is_addr_byte`, by byte.
static ADDR_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b':' | b'.' | b'%' | b'_' | b'-');
        b += 1;
    }
    t
};

/// `[0-9A-Fa-f:.]+(?:%[0-9A-Za-z_.-]+)?` → the address; the zone is dropped
/// (a link-local neighbour is named by its address alone).
pub(super) fn ip_with_zone(text: &[u8]) -> Option<IpAddr> {
    // Nearly every address has no zone: `ip_from` takes only address bytes.
    if let Some(ip) = ip_from(text) {
        return Some(ip);
    }
    let ip = match text.iter().position(|&b| b == b'%') {
        None => return None,
        Some(i) => {
            let zone = &text[i + 1..];
            let zone_ok = !zone.is_empty()
                && zone
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !zone_ok {
                return None;
            }
            &text[..i]
        }
    };
    if ip.is_empty() || !ip.iter().all(|&b| is_ip_byte(b)) {
        return None;
    }
    ip_from(ip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Rng;

    #[test]
    fn addr_bytes_by_table() {
        for b in 0..=255u8 {
            let want = b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'%' | b'_' | b'-');
            assert_eq!(is_addr_byte(b), want, "{b}");
        }
    }

    #[test]
    fn an_ipv4_client_seen_through_ipv6_is_the_ipv4_client() {
        for (text, want) in [
            ("::ffff:198.51.100.7", "198.51.100.7"),
            ("::FFFF:c633:6407", "198.51.100.7"),
            ("64:ff9b::198.51.100.7", "198.51.100.7"),
            ("64:ff9b::c633:6407", "198.51.100.7"),
            ("::198.51.100.7", "198.51.100.7"),
            ("::2", "0.0.0.2"),
            // Not an IPv4 client: unspecified, loopback, other prefixes.
            ("::", "::"),
            ("::1", "::1"),
            ("64:ff9b:1::c633:6407", "64:ff9b:1::c633:6407"),
            ("64:ff9b::1:c633:6407", "64:ff9b::1:c633:6407"),
            ("::1:ffff:c633:6407", "::1:ffff:c633:6407"),
            ("2001:db8::c633:6407", "2001:db8::c633:6407"),
            ("198.51.100.7", "198.51.100.7"),
        ] {
            let want: IpAddr = want.parse().unwrap();
            assert_eq!(ip_from(text.as_bytes()), Some(want), "{text}");
        }
    }

    #[test]
    fn ipv6_by_hand_equals_the_standard_library() {
        let std_parse = |t: &[u8]| -> Option<IpAddr> {
            let ip: IpAddr = std::str::from_utf8(t).ok()?.parse().ok()?;
            Some(client(ip))
        };
        for t in [
            "::",
            "::1",
            "1::",
            "2a01:4f8:5d9d:c9f8::9531:985d",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1.2.3.4::",
            "::1.2.3.4:5",
            "12345::1",
            "0000:0:00:000::",
            ":::",
            "1:::2",
            ":1::",
            "1::2::3",
            "::ffff:01.2.3.4",
            "::ffff:1.2.3",
            "fe80::1%",
            "FFFF::ABCD",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1::3:4:5:6:7:8",
            "1.2.3.4:1",
            "a:b",
            "a::b.c",
            "::256.1.1.1",
            "1:2:3:4:5:1.2.3.4",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7",
            "::1:2:3:4:5:6:7:8",
        ] {
            assert_eq!(ip_from(t.as_bytes()), std_parse(t.as_bytes()), "{t}");
        }
        let mut rng = Rng(11);
        let pieces: &[&[u8]] = &[
            b":",
            b"::",
            b"0",
            b"1",
            b"ff",
            b"FFFF",
            b"12345",
            b"a",
            b"00",
            b"0000",
            b"1.2.3.4",
            b".",
            b"255",
            b"256",
            b"01",
            b"9",
            b"abc",
            b"ffff",
            b"10.0.0.1",
            b"4f8",
        ];
        let mut valid = 0;
        for _ in 0..300_000 {
            let mut t = Vec::new();
            for _ in 0..rng.below(12) {
                t.extend_from_slice(pieces[rng.below(pieces.len())]);
                if rng.below(3) > 0 {
                    t.push(b':');
                }
            }
            let want = std_parse(&t);
            valid += want.is_some() as usize;
            assert_eq!(ip_from(&t), want, "{:?}", String::from_utf8_lossy(&t));
        }
        assert!(valid > 3_000, "enough valid addresses among them: {valid}");
    }

    #[test]
    fn ipv4_by_hand_equals_the_standard_library() {
        let std_parse = |t: &[u8]| -> Option<IpAddr> {
            let ip: IpAddr = std::str::from_utf8(t).ok()?.parse().ok()?;
            Some(ip.to_canonical())
        };
        for t in [
            "1.2.3.4",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.",
            ".1.2.3",
            "1..2.3",
            "1.2.3.4.5",
            "1234.1.1.1",
            "001.1.1.1",
            "1.2.3.04",
            "",
            ".",
            "1",
            "10.0.0.10",
            "199.99.9.0",
        ] {
            assert_eq!(ip_from(t.as_bytes()), std_parse(t.as_bytes()), "{t}");
        }
        let mut rng = Rng(7);
        for _ in 0..200_000 {
            let len = rng.below(17);
            let t: Vec<u8> = (0..len)
                .map(|_| match rng.below(4) {
                    0 => b'.',
                    1 => b'0',
                    2 => b'2' + rng.below(4) as u8,
                    _ => b'0' + rng.below(10) as u8,
                })
                .collect();
            assert_eq!(
                ip_from(&t),
                std_parse(&t),
                "{:?}",
                String::from_utf8_lossy(&t)
            );
        }
    }
}
