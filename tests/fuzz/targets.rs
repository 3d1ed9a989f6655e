//! The fuzz targets' bodies: libFuzzer's harnesses (fuzz_targets/, nightly)
//! and the stable random pass (tests/fuzz_pass.rs) run the same checks.
// Each harness uses one of them.
#![allow(dead_code)]

use std::io::BufReader;

use tweet_attacks::lines::{MAX_LINE, for_each_line};
use tweet_attacks::parse::parse;

#[path = "../support/addr.rs"]
mod addr;

/// Any bytes as one log line: `parse` never panics, and an event's address is
/// written in the line outside the user name the attacker chose.
pub fn parse_line(line: &[u8]) {
    let Some(ev) = parse(line) else { return };
    assert!(ev.count >= 1);
    // A line without an address of its own blames nobody by itself.
    let Some(ev_ip) = ev.ip else { return };
    let user = ev.user.map(|u| {
        let start = u.as_ptr() as usize - line.as_ptr() as usize;
        start..start + u.len()
    });
    let found = addr::addresses_in(line).into_iter().any(|(ip, at)| {
        ip == ev_ip
            && user
                .as_ref()
                .is_none_or(|u| at.end <= u.start || u.end <= at.start)
    });
    assert!(found, "{ev_ip} taken from the user name");
}

/// Any bytes through the line reader, with any buffer size: never panics, and
/// the lines are exactly those of a naive split on newlines, over-long ones
/// skipped. Input: 2 bytes of buffer capacity, 1 flag byte, then the stream,
/// in which `0xFE k` stands for k KiB of 'x' so lines near and over MAX_LINE
/// (64 KiB) are reachable with small inputs.
pub fn read_lines(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let cap = u16::from_le_bytes([data[0], data[1]]) as usize + 1;
    let final_line = data[2] & 1 == 1;
    let mut input = Vec::new();
    let mut it = data[3..].iter();
    while let Some(&b) = it.next() {
        match (b, it.clone().next()) {
            // At most about 512 KiB of input, so each run stays fast.
            (0xFE, Some(&k)) if input.len() < 1 << 18 => {
                it.next();
                input.extend(std::iter::repeat_n(b'x', k as usize * 1024));
            }
            _ => input.push(b),
        }
    }

    let mut got: Vec<Vec<u8>> = Vec::new();
    let st = for_each_line(BufReader::with_capacity(cap, &input[..]), final_line, |l| {
        got.push(l.to_vec())
    })
    .expect("reading a slice cannot fail");

    // The reference.
    let mut pieces: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    let rest = pieces.pop().unwrap_or_default();
    let whole = input.len() - rest.len();
    if final_line && !rest.is_empty() {
        pieces.push(rest);
    }
    let want: Vec<&[u8]> = pieces
        .iter()
        .copied()
        .filter(|p| p.len() <= MAX_LINE)
        .collect();
    assert_eq!(st.lines as usize, pieces.len());
    assert_eq!(st.too_long as usize, pieces.len() - want.len());
    assert!(got.len() == want.len() && got.iter().zip(&want).all(|(g, w)| g == w));
    let consumed = if final_line { input.len() } else { whole };
    assert_eq!(st.consumed as usize, consumed);
    assert_eq!(st.partial as usize, input.len() - consumed);
}
