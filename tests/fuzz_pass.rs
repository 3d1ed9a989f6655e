//! The fuzz targets' bodies (tests/fuzz/targets.rs) on stable Rust: random
//! and mutated inputs for a while, where cargo-fuzz (libFuzzer, nightly) is
//! not at hand. No coverage guidance, so it finds less than libFuzzer does;
//! it runs wherever the tests run.
//!
//! `FUZZ_SECONDS` per target (CI sets it; without it a quick pass of a few
//! hundred inputs); `FUZZ_SEED` repeats a run, whose seed is printed first.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{Duration, Instant};

#[path = "fuzz/targets.rs"]
mod targets;

struct Rng(u64);

impl Rng {
    fn new(what: &str) -> Rng {
        let seed = std::env::var("FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("{what}: FUZZ_SEED={seed}");
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, of: &'a [T]) -> &'a T {
        &of[self.below(of.len())]
    }
}

/// Pieces of the lines the parsers look for, and of the ones they must not be fooled by.
const TOKENS: &[&str] = &[
    "Failed password for ",
    "invalid user ",
    "Invalid user ",
    " from ",
    " port ",
    " ssh2",
    "Connection closed by ",
    "authenticating user ",
    "Disconnecting ",
    "[preauth]",
    "message repeated 3 times: [ ",
    "rhost=",
    " user=",
    "sshd[42]: ",
    "sshd-session[42]: ",
    "vsftpd[7]: ",
    "[pid 7] [",
    "] FAIL LOGIN: Client \"",
    "\"",
    "::ffff:",
    "64:ff9b::",
    "203.0.113.5",
    "198.51.100.7",
    "2001:db8::1",
    "::",
    "1.2.3.4.5",
    "Nov 26 10:00:00 web01 ",
    "2026-11-26T10:15:01.123456+00:00 host ",
    "\\x1b[31m",
    "\u{202e}",
];

/// Bytes that sit on the parsers' boundaries.
const BYTES: &[u8] = b"\0\n\r\t \"'[]():.,;=\\/-0123456789abcdef\x1b\x7f\x80\xc2\xff";

/// Log lines to start from: the bundled examples and the captured real logs.
fn corpus() -> Vec<Vec<u8>> {
    fn walk(dir: &Path, out: &mut Vec<Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "log") {
                let text = std::fs::read(&p).unwrap();
                out.extend(text.split(|&b| b == b'\n').map(<[u8]>::to_vec));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    walk(&root.join("examples"), &mut out);
    walk(&root.join("tests/fixtures/real"), &mut out);
    out.retain(|l| !l.is_empty());
    assert!(out.len() > 100, "a corpus: {} lines", out.len());
    out
}

/// A corpus line, or random bytes, changed a few times over.
fn mutated(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut b = match rng.below(8) {
        0 => (0..rng.below(200)).map(|_| rng.next() as u8).collect(),
        _ => rng.pick(corpus).clone(),
    };
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(b.len() + 1);
        match rng.below(8) {
            0 if at < b.len() => b[at] ^= 1 << rng.below(8),
            1 => b.insert(at, *rng.pick(BYTES)),
            2 => {
                let t = rng.pick(TOKENS).as_bytes();
                b.splice(at..at, t.iter().copied());
            }
            3 if at < b.len() => {
                let end = (at + 1 + rng.below(16)).min(b.len());
                b.drain(at..end);
            }
            4 if at < b.len() => {
                let end = (at + 1 + rng.below(32)).min(b.len());
                let piece = b[at..end].to_vec();
                b.splice(
                    at..at,
                    piece
                        .iter()
                        .copied()
                        .cycle()
                        .take(piece.len() * (1 + rng.below(3))),
                );
            }
            5 => {
                // Another line's tail.
                let other = rng.pick(corpus);
                let from = rng.below(other.len());
                b.truncate(at);
                b.extend_from_slice(&other[from..]);
            }
            6 => b.truncate(at),
            _ => b.insert(at, rng.next() as u8),
        }
    }
    b
}

/// Runs `body` on inputs from `input` for `FUZZ_SECONDS`, or on `quick` of
/// them; a panic names the input.
fn pass(what: &str, body: fn(&[u8]), quick: u64, mut input: impl FnMut(&mut Rng) -> Vec<u8>) {
    let mut rng = Rng::new(what);
    let seconds: Option<u64> = std::env::var("FUZZ_SECONDS").ok().map(|s| {
        s.parse()
            .unwrap_or_else(|_| panic!("FUZZ_SECONDS={s}: a number of seconds"))
    });
    let deadline = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    let mut n = 0u64;
    while match deadline {
        Some(d) => Instant::now() < d,
        None => n < quick,
    } {
        let data = input(&mut rng);
        if catch_unwind(AssertUnwindSafe(|| body(&data))).is_err() {
            panic!(
                "{what}: failed on input \"{}\" (the seed is printed above)",
                data.escape_ascii()
            );
        }
        n += 1;
    }
    eprintln!("{what}: {n} inputs");
}

#[test]
fn parse_line_on_random_and_mutated_lines() {
    let corpus = corpus();
    pass("parse_line", targets::parse_line, 2000, |rng| {
        mutated(rng, &corpus)
    });
}

#[test]
fn read_lines_on_random_streams() {
    let corpus = corpus();
    pass("read_lines", targets::read_lines, 200, |rng| {
        // Small buffers most often: lines cross their ends.
        let cap = match rng.below(4) {
            0 => rng.next() as u16,
            _ => rng.below(80) as u16,
        };
        let mut data = cap.to_le_bytes().to_vec();
        data.push(rng.next() as u8);
        for _ in 0..rng.below(12) {
            match rng.below(6) {
                // A line near or over MAX_LINE (64 KiB): `0xFE k` is k KiB of 'x'.
                0 => data.extend_from_slice(&[0xFE, 62 + rng.below(5) as u8]),
                1 => data.push(b'\n'),
                2 => data.extend_from_slice(&mutated(rng, &corpus)),
                _ => {
                    data.extend_from_slice(rng.pick::<Vec<u8>>(&corpus));
                    data.push(b'\n');
                }
            }
        }
        data
    });
}
