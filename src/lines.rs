//! The one line reader: whole lines of a log, a pipe or journalctl's
//! output, in bounded memory whatever they hold. Replay, parse, the journal
//! source and the log reader (`source`) all read through it.

use std::io::{self, BufRead};

/// Lines longer than this are skipped whole, with a warning: memory stays
/// bounded whatever a log holds.
pub const MAX_LINE: usize = 64 * 1024;
/// The read size of every log reader: big enough that a read is mostly
/// newline search, not system calls.
pub const READ_BLOCK: usize = 1 << 20;

/// What one pass of the line reader saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReadStats {
    /// Bytes of whole lines, newline included: where the next read starts.
    pub consumed: u64,
    pub lines: u64,
    /// Lines over `MAX_LINE`, skipped.
    pub too_long: u64,
    /// Bytes after the last newline, left for the next run (0 when `final_line`).
    pub partial: u64,
}

/// Calls `on_line` with every line of `input`, without its newline.
///
/// With `final_line` false, an unterminated last line is left unread (a log
/// being written); with true it is passed on too (a whole file or a pipe).
/// A read error is returned as an error, never taken for the end.
pub fn for_each_line<R: BufRead>(
    mut input: R,
    final_line: bool,
    mut on_line: impl FnMut(&[u8]),
) -> io::Result<ReadStats> {
    let mut stats = ReadStats::default();
    // A line split across two reads is assembled here; a line over MAX_LINE is dropped
    // as it streams past (`skipping`), so it never grows the buffer.
    let mut carry: Vec<u8> = Vec::new();
    let mut skipping = false;
    let mut pending: u64 = 0;
    let newlines = Newlines::new();
    loop {
        let buf = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            break;
        }
        let mut start = 0;
        for nl in newlines.iter(buf) {
            let piece = &buf[start..nl];
            if skipping {
                stats.too_long += 1;
                skipping = false;
            } else if !carry.is_empty() {
                if carry.len() + piece.len() > MAX_LINE {
                    stats.too_long += 1;
                } else {
                    carry.extend_from_slice(piece);
                    on_line(&carry);
                }
                carry.clear();
            } else if piece.len() > MAX_LINE {
                stats.too_long += 1;
            } else {
                on_line(piece);
            }
            stats.lines += 1;
            stats.consumed += pending + (nl + 1 - start) as u64;
            pending = 0;
            start = nl + 1;
        }
        let rest = &buf[start..];
        pending += rest.len() as u64;
        if !skipping {
            if carry.len() + rest.len() > MAX_LINE {
                skipping = true;
                carry = Vec::new();
            } else {
                carry.extend_from_slice(rest);
            }
        }
        let n = buf.len();
        input.consume(n);
    }
    if pending > 0 {
        if final_line {
            if skipping {
                stats.too_long += 1;
            } else {
                on_line(&carry);
            }
            stats.lines += 1;
            stats.consumed += pending;
        } else {
            stats.partial = pending;
        }
    }
    Ok(stats)
}

/// Finds the newlines of a buffer. `memchr_iter` looks up the CPU's
/// searcher and builds it again for every line; this one is built once.
struct Newlines {
    #[cfg(target_arch = "x86_64")]
    avx2: Option<memchr::arch::x86_64::avx2::memchr::One>,
}

impl Newlines {
    fn new() -> Newlines {
        Newlines {
            #[cfg(target_arch = "x86_64")]
            avx2: memchr::arch::x86_64::avx2::memchr::One::new(b'\n'),
        }
    }

    fn iter<'a>(&'a self, buf: &'a [u8]) -> NewlineIter<'a> {
        #[cfg(target_arch = "x86_64")]
        if let Some(one) = &self.avx2 {
            return NewlineIter::Avx2(one.iter(buf));
        }
        NewlineIter::Any(memchr::memchr_iter(b'\n', buf))
    }
}

enum NewlineIter<'a> {
    #[cfg(target_arch = "x86_64")]
    Avx2(memchr::arch::x86_64::avx2::memchr::OneIter<'a, 'a>),
    Any(memchr::Memchr<'a>),
}

impl Iterator for NewlineIter<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        match self {
            #[cfg(target_arch = "x86_64")]
            NewlineIter::Avx2(it) => it.next(),
            NewlineIter::Any(it) => it.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Cursor, Read};

    fn lines(input: &[u8], final_line: bool) -> (Vec<Vec<u8>>, ReadStats) {
        let mut out = Vec::new();
        let stats =
            for_each_line(Cursor::new(input), final_line, |l| out.push(l.to_vec())).unwrap();
        (out, stats)
    }

    #[test]
    fn whole_lines_only_unless_final() {
        let (got, st) = lines(b"a\nbb\nccc", false);
        assert_eq!(got, vec![b"a".to_vec(), b"bb".to_vec()]);
        assert_eq!((st.consumed, st.partial, st.lines), (5, 3, 2));
        let (got, st) = lines(b"a\nbb\nccc", true);
        assert_eq!(got.len(), 3);
        assert_eq!((st.consumed, st.partial), (8, 0));
    }

    #[test]
    fn lines_across_small_buffers() {
        let text = b"first line\nsecond line is longer\n\nlast\n";
        let mut out = Vec::new();
        let st = for_each_line(BufReader::with_capacity(3, &text[..]), false, |l| {
            out.push(String::from_utf8(l.to_vec()).unwrap())
        })
        .unwrap();
        assert_eq!(out, ["first line", "second line is longer", "", "last"]);
        assert_eq!(st.consumed, text.len() as u64);
    }

    #[test]
    fn overlong_lines_are_skipped_and_counted() {
        let mut input = b"ok1\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        input.extend(b"\nok2\n");
        input.extend(std::iter::repeat_n(b'y', MAX_LINE * 3));
        let mut out = Vec::new();
        let st = for_each_line(BufReader::with_capacity(4096, &input[..]), false, |l| {
            out.push(l.to_vec())
        })
        .unwrap();
        assert_eq!(out, vec![b"ok1".to_vec(), b"ok2".to_vec()]);
        assert_eq!(st.too_long, 1);
        assert_eq!(
            st.partial,
            (MAX_LINE * 3) as u64,
            "the unterminated giant waits"
        );
        let st = for_each_line(BufReader::with_capacity(4096, &input[..]), true, |_| {}).unwrap();
        assert_eq!(st.too_long, 2);
        assert_eq!(st.consumed, input.len() as u64);
    }

    struct FailingReader(usize);
    impl Read for FailingReader {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::other("disk on fire"));
            }
            self.0 -= 1;
            buf[..2].copy_from_slice(b"a\n");
            Ok(2)
        }
    }

    #[test]
    fn a_read_error_is_an_error_not_eof() {
        let err = for_each_line(BufReader::new(FailingReader(3)), true, |_| {}).unwrap_err();
        assert_eq!(err.to_string(), "disk on fire");
    }
}
