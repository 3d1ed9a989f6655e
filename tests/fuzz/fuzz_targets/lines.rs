//! Any bytes through the line reader, with any buffer size: never panics, and
//! the lines are exactly those of a naive split on newlines, over-long ones
//! skipped. Input: 2 bytes of buffer capacity, 1 flag byte, then the stream,
//! in which `0xFE k` stands for k KiB of 'x' so lines near and over MAX_LINE
//! (64 KiB) are reachable with small inputs.
#![no_main]

use std::io::BufReader;

use libfuzzer_sys::fuzz_target;
use tweet_attacks::lines::{MAX_LINE, for_each_line};

fuzz_target!(|data: &[u8]| {
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
});
