//! Any bytes through the line reader, with any buffer size (see
//! `targets::read_lines`).
#![no_main]

#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::read_lines(data));
