//! Any bytes as one log line (see `targets::parse_line`).
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|line: &[u8]| targets::parse_line(line));
