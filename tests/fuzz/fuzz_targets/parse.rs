//! Any bytes as one log line: `parse` never panics, and an event's address is
//! written in the line outside the user name the attacker chose.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use tweet_attacks::parse::parse;

fuzz_target!(|line: &[u8]| {
    let Some(ev) = parse(line) else { return };
    assert!(ev.count >= 1);
    // A line without an address of its own blames nobody by itself.
    let Some(ev_ip) = ev.ip else { return };
    let user = ev.user.map(|u| {
        let start = u.as_ptr() as usize - line.as_ptr() as usize;
        start..start + u.len()
    });
    let is_addr = |b: &u8| b.is_ascii_hexdigit() || *b == b':' || *b == b'.';
    let mut i = 0;
    let mut found = false;
    while i < line.len() && !found {
        if !is_addr(&line[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < line.len() && is_addr(&line[i]) {
            i += 1;
        }
        let ip = std::str::from_utf8(&line[start..i])
            .ok()
            .and_then(|s| s.parse::<IpAddr>().ok());
        let outside = user.as_ref().is_none_or(|u| i <= u.start || u.end <= start);
        found = ip.map(|ip| ip.to_canonical()) == Some(ev_ip) && outside;
    }
    assert!(found, "{ev_ip} taken from the user name");
});
