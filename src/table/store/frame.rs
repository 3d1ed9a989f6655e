//! The file's frame: the prefix and suffix, the head part, the trailer
//! that names it, the ticks, and finding the last whole trailer when a
//! file is opened (`open`, `recover`).

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use super::sum;

/// The file's first bytes in format 4, and its last.
pub const PREFIX: &[u8] = b"{\"version\":4,\"parts\":[\n";
pub(super) const SUFFIX: &[u8] = b"\n]}\n";
/// A writer that knows its offset in the file.
pub struct Placed<W> {
    pub(super) w: W,
    pub at: u64,
}

impl<W: Write> Write for Placed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.w.write(buf)?;
        self.at += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

impl<W: Write> Placed<W> {
    pub fn new(w: W, at: u64) -> Self {
        Placed { w, at }
    }
}
/// The trailer: where the head part is, its length and its FNV-1a, in
/// fixed-width hex so that its length is known from the end of the file.
pub(super) fn trailer(at: u64, len: u64, sum: u64) -> String {
    format!("{{\"at\":\"{at:016x}\",\"len\":\"{len:016x}\",\"sum\":\"{sum:016x}\"}}")
}

pub(super) const TRAILER_LEN: usize = 75;
pub(super) const TRAILER_START: &[u8] = b"{\"at\":\"";

/// Reads a trailer that starts at `b[0]`: the head's offset and length if it is one.
pub(super) fn read_trailer(b: &[u8]) -> Option<(u64, u64, u64)> {
    let t = b.get(..TRAILER_LEN)?;
    let num = |r: std::ops::Range<usize>| {
        let s = std::str::from_utf8(t.get(r)?).ok()?;
        u64::from_str_radix(s, 16).ok()
    };
    let (at, len, sum) = (num(7..23)?, num(32..48)?, num(57..73)?);
    (trailer(at, len, sum).as_bytes() == t).then_some((at, len, sum))
}

/// A tick: what a save that changed nothing but the run's own record
/// appends instead of a new head (see `Table::tick`). Its text is the
/// state's business; it is framed as
/// `{"tick":TEXT,"end":"LLLLLLLLSSSSSSSS"}`, L the length of what comes
/// before `,"end"` and S its CRC-32, so that it is found from its end,
/// just before the trailer that follows it. A head part ends `}}`, a tick
/// `"}`: the one is never read for the other.
pub(super) const TICK_START: &[u8] = b"{\"tick\":";
pub(super) const TICK_END: &[u8] = b",\"end\":\"";
pub(super) const TICK_TAIL: usize = TICK_END.len() + 16 + 2;

pub(super) fn tick_part(text: &[u8]) -> Vec<u8> {
    let mut part = TICK_START.to_vec();
    part.extend_from_slice(text);
    let tail = format!("{:08x}{:08x}\"}}", part.len(), sum(&part));
    part.extend_from_slice(TICK_END);
    part.extend_from_slice(tail.as_bytes());
    part
}

/// The text of the tick that ends at `end`, if it starts after `floor`.
pub(super) fn read_tick(file: &File, floor: u64, end: u64) -> Option<Vec<u8>> {
    let tail_at = end.checked_sub(TICK_TAIL as u64)?;
    let mut tail = [0u8; TICK_TAIL];
    file.read_exact_at(&mut tail, tail_at).ok()?;
    let digits = tail.strip_prefix(TICK_END)?.strip_suffix(b"\"}")?;
    let num = |d: &[u8]| u32::from_str_radix(std::str::from_utf8(d).ok()?, 16).ok();
    let (len, want) = (num(&digits[..8])?, num(&digits[8..])?);
    let at = tail_at
        .checked_sub(u64::from(len))
        .filter(|&at| at >= floor)?;
    let mut part = vec![0; len as usize];
    file.read_exact_at(&mut part, at).ok()?;
    (sum(&part) == want)
        .then(|| part.strip_prefix(TICK_START).map(<[u8]>::to_vec))
        .flatten()
}

/// A format 4 file, opened: its head's text, and the store it names.
pub struct Opened {
    pub head: Vec<u8>,
    /// The text of the tick after the head, if the last save was one.
    pub tick: Option<Vec<u8>>,
    /// A save cut short was found after the last whole trailer.
    pub torn: bool,
    pub(super) file: Arc<File>,
    pub(super) id: (u64, u64),
    pub(super) end: u64,
    pub(super) head_ref: HeadRef,
}

/// Where a head part is in the file (`{"head":…}`, as its trailer names it), and its CRC-32.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeadRef {
    pub at: u64,
    pub len: u64,
    pub sum: u32,
}

impl HeadRef {
    /// The head part `head` (`{"head":…}`), written at `at`.
    pub fn of(at: u64, head: &[u8]) -> HeadRef {
        HeadRef {
            at,
            len: head.len() as u64,
            sum: sum(head),
        }
    }

    /// Where its part starts: the `,\n` before it.
    pub(super) fn from(&self) -> u64 {
        self.at.saturating_sub(2)
    }

    /// Where its own trailer ends: the ticks after it start there.
    pub(super) fn ticks_from(&self) -> u64 {
        self.at + self.len + 2 + TRAILER_LEN as u64
    }
}

/// Finds the head of a format 4 file: from the trailer at its end, or,
/// after a save cut short, from the last whole trailer before it.
pub fn open(file: File) -> Result<Opened, String> {
    use std::os::unix::fs::MetadataExt;
    let md = file.metadata().map_err(|e| e.to_string())?;
    let size = md.len();
    let head_at = |trailer_at: u64| -> Option<(Vec<u8>, u64, u64)> {
        let mut t = vec![0; TRAILER_LEN];
        file.read_exact_at(&mut t, trailer_at).ok()?;
        let (at, len, sum) = read_trailer(&t)?;
        if at.checked_add(len)? > trailer_at {
            return None;
        }
        let mut head = vec![0; len as usize];
        file.read_exact_at(&mut head, at).ok()?;
        (u64::from(self::sum(&head)) == sum).then_some((head, trailer_at + TRAILER_LEN as u64, at))
    };
    let whole = SUFFIX.len() + TRAILER_LEN;
    let mut tail = vec![0; SUFFIX.len()];
    let ends_whole = size >= whole as u64
        && file
            .read_exact_at(&mut tail, size - SUFFIX.len() as u64)
            .is_ok()
        && tail == SUFFIX;
    // A whole last trailer whose head does not check is corruption, not a
    // save cut short: the head was synced before the trailer was written.
    // Going back to an older trailer then would let the next save write
    // over the newer state.
    let last_trailer = ends_whole.then(|| {
        let mut t = vec![0; TRAILER_LEN];
        let at = size - whole as u64;
        file.read_exact_at(&mut t, at).ok()?;
        read_trailer(&t).map(|_| at)
    });
    let found = match last_trailer.flatten() {
        Some(at) => Some(
            head_at(at)
                .map(|found| (found, false))
                .ok_or("its last trailer names a head that fails its checksum")?,
        ),
        None => recover(&file, size, head_at).map(|found| (found, true)),
    };
    let Some(((head, end, head_at), torn)) = found else {
        return Err("no whole trailer found".into());
    };
    // `,\n` head `,\n` trailer, and ticks (each `,\n` tick `,\n` trailer) after it.
    let head_ref = HeadRef::of(head_at, &head);
    let ticks_from = head_ref.ticks_from();
    let trailer_at = end - TRAILER_LEN as u64;
    let tick = match trailer_at.checked_sub(ticks_from - TRAILER_LEN as u64) {
        Some(0) => None,
        Some(_) => Some(
            read_tick(&file, ticks_from, trailer_at - 2)
                .ok_or("the tick before its last trailer fails its checksum")?,
        ),
        None => return Err("its last trailer names a head that overlaps it".into()),
    };
    let mut head = head;
    if !(head.starts_with(HEAD_START) && head.ends_with(b"}")) {
        return Err("its head is not a head".into());
    }
    // In place: a head with a burst's connections open is megabytes.
    head.pop();
    head.drain(..HEAD_START.len());
    Ok(Opened {
        head,
        tick,
        torn,
        file: Arc::new(file),
        id: (md.dev(), md.ino()),
        end,
        head_ref,
    })
}

/// The last whole trailer, searching back from the end: what a save cut
/// short left behind it has no trailer, or one whose head does not check.
pub(super) fn recover(
    file: &File,
    size: u64,
    head_at: impl Fn(u64) -> Option<(Vec<u8>, u64, u64)>,
) -> Option<(Vec<u8>, u64, u64)> {
    const WINDOW: u64 = 1 << 20;
    let mut hi = size;
    while hi > 0 {
        let lo = hi.saturating_sub(WINDOW);
        let mut buf = vec![0; (hi - lo) as usize];
        file.read_exact_at(&mut buf, lo).ok()?;
        let mut i = buf.len();
        while let Some(p) = buf[..i]
            .windows(TRAILER_START.len())
            .rposition(|w| w == TRAILER_START)
        {
            if let Some(found) = head_at(lo + p as u64) {
                return Some(found);
            }
            i = p;
        }
        // Windows overlap by a trailer, so one across their edge is seen.
        hi = if lo == 0 { 0 } else { lo + TRAILER_LEN as u64 };
        if lo == 0 {
            break;
        }
    }
    None
}
/// Writes a tick (see `tick_part`) after the trailer that ends at `w.at`,
/// then a trailer naming the head `head_at..+head_len` again; returns where
/// it ends. The tick is flushed before the trailer is written (`sync`).
pub fn write_tick<W: Write>(
    w: &mut Placed<W>,
    text: &[u8],
    head: HeadRef,
    mut sync: impl FnMut(&mut Placed<W>) -> io::Result<()>,
) -> io::Result<u64> {
    w.write_all(b",\n")?;
    w.write_all(&tick_part(text))?;
    w.write_all(b",\n")?;
    sync(w)?;
    w.write_all(trailer(head.at, head.len, u64::from(head.sum)).as_bytes())?;
    let end = w.at;
    w.write_all(SUFFIX)?;
    Ok(end)
}

/// A writer that passes everything on, summing it (the head part's CRC-32).
pub struct Summed<'w, W> {
    pub(super) w: &'w mut Placed<W>,
    pub(super) crc: crc32fast::Hasher,
}

impl<W: Write> Write for Summed<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.w.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// Writes the head part, `{"head":` what `body` writes `}`, between `,\n`s;
/// returns where it is. Streamed: a head may hold megabytes of open
/// connections or waiting announcements, and is not built in memory first.
pub fn write_head<W: Write>(
    w: &mut Placed<W>,
    body: impl FnOnce(&mut Summed<'_, W>) -> io::Result<()>,
) -> io::Result<HeadRef> {
    w.write_all(b",\n")?;
    let at = w.at;
    let mut s = Summed {
        w,
        crc: crc32fast::Hasher::new(),
    };
    s.write_all(HEAD_START)?;
    body(&mut s)?;
    s.write_all(b"}")?;
    let sum = s.crc.finalize();
    w.write_all(b",\n")?;
    Ok(HeadRef {
        at,
        len: w.at - 2 - at,
        sum,
    })
}

pub(super) const HEAD_START: &[u8] = b"{\"head\":";

/// Writes the trailer that names `head`, and the suffix: what makes a
/// save whole. Returns the end of the trailer.
pub fn write_trailer<W: Write>(w: &mut Placed<W>, head: HeadRef) -> io::Result<u64> {
    w.write_all(trailer(head.at, head.len, u64::from(head.sum)).as_bytes())?;
    let end = w.at;
    w.write_all(SUFFIX)?;
    Ok(end)
}

/// A writer that compares what is written with the body of the head in
/// force, as the file holds it: whether a save would write that head again.
/// Read back in pieces, not kept in memory from the load.
pub struct SameHead<'f> {
    pub(super) file: &'f File,
    /// The next byte to compare, and the body's end.
    pub(super) at: u64,
    pub(super) end: u64,
    pub(super) same: bool,
    pub(super) scratch: Vec<u8>,
}

impl SameHead<'_> {
    /// Whether everything written was the whole body.
    pub fn same(&self) -> bool {
        self.same && self.at == self.end
    }
}

impl Write for SameHead<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.same || self.at + buf.len() as u64 > self.end {
            self.same = false;
            return Ok(buf.len());
        }
        self.scratch.resize(buf.len(), 0);
        // Unreadable is not the same: the save then writes a head, as it would have.
        self.same =
            self.file.read_exact_at(&mut self.scratch, self.at).is_ok() && self.scratch == buf;
        self.at += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trailer_has_a_fixed_length_and_reads_back() {
        let t = trailer(1, u64::MAX, 0xabc);
        assert_eq!(t.len(), TRAILER_LEN);
        assert_eq!(read_trailer(t.as_bytes()), Some((1, u64::MAX, 0xabc)));
        assert_eq!(read_trailer(&t.as_bytes()[1..]), None);
        assert!(t.as_bytes().starts_with(TRAILER_START));
    }
}
