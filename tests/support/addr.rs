//! Addresses in a line, written apart from the parser, for the tests that
//! check which address a line blames (props, blame, the fuzz targets).
// Each test uses what it needs.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::ops::Range;

/// Every substring of `line` that is a maximal run of address characters and
/// parses as an address, as the client it names (`client`), with where it sits.
pub fn addresses_in(line: &[u8]) -> Vec<(IpAddr, Range<usize>)> {
    let is_addr = |b: &u8| b.is_ascii_hexdigit() || *b == b':' || *b == b'.';
    let mut out = Vec::new();
    let mut i = 0;
    while i < line.len() {
        if !is_addr(&line[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < line.len() && is_addr(&line[i]) {
            i += 1;
        }
        if let Some(ip) = std::str::from_utf8(&line[start..i])
            .ok()
            .and_then(|s| s.parse::<IpAddr>().ok())
        {
            out.push((client(ip), start..i));
        }
    }
    out
}

/// The client behind an IPv6 form of an IPv4 address, as the parser reads
/// it (src/parse/addr.rs): `::ffff:a.b.c.d`, `64:ff9b::a.b.c.d` and
/// `::a.b.c.d` are the IPv4 client `a.b.c.d`; `::` and `::1` stay as they are.
pub fn client(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else { return ip };
    let s = v6.segments();
    let v4 = IpAddr::V4(Ipv4Addr::new(
        (s[6] >> 8) as u8,
        s[6] as u8,
        (s[7] >> 8) as u8,
        s[7] as u8,
    ));
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0x64, 0xff9b, 0, 0, 0, 0, _, _] => v4,
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 || lo > 1 => v4,
        _ => ip,
    }
}
