//! Log input: the one line reader, and log files read from a saved position
//! that survives truncation, replacement and rotation.

use std::fs::{File, Metadata};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Lines longer than this are skipped whole, with a warning: memory stays
/// bounded whatever a log holds.
pub const MAX_LINE: usize = 64 * 1024;

const READ_BLOCK: usize = 1 << 20;

/// How many bytes before the saved offset are fingerprinted.
const FINGERPRINT_LEN: u64 = 256;

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
        for nl in memchr::memchr_iter(b'\n', buf) {
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

/// Where the last run stopped reading one log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPos {
    pub offset: u64,
    pub inode: u64,
    pub dev: u64,
    /// FNV-1a of the bytes just before `offset`: a file truncated and
    /// refilled past the offset fails this check.
    pub fp: u64,
}

/// What happened when a log was opened at its saved position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// First sight of this log: read from the start.
    New,
    /// Same file, carry on from the offset.
    Continue,
    /// Shorter than the offset, or its bytes before the offset changed.
    Truncated,
    /// A different file now sits at the path and the old one's unread tail
    /// could not be read (not found, or compressed and unreadable): what was lost.
    Replaced(Lost),
    /// Rotated: the old file's tail was read from this path first.
    Rotated(PathBuf),
}

/// The unread tail of a replaced log that could not be read: said once, in a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lost {
    /// Where reading the old file stopped: what it held past this was skipped.
    pub offset: u64,
    /// Why, e.g. "its old file was not found".
    pub why: String,
}

impl std::fmt::Display for Lost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The old file is gone or unreadable, so its size is unknown.
        write!(
            f,
            "{}; whatever it held after byte {} was skipped (how many bytes is unknown)",
            self.why, self.offset
        )
    }
}

/// The outcome of reading one log file.
#[derive(Debug)]
pub struct LogRead {
    pub pos: LogPos,
    pub resume: Resume,
    pub stats: ReadStats,
}

pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn fingerprint(file: &File, offset: u64) -> io::Result<u64> {
    let start = offset.saturating_sub(FINGERPRINT_LEN);
    let mut buf = vec![0u8; (offset - start) as usize];
    file.read_exact_at(&mut buf, start)?;
    Ok(fnv1a(&buf))
}

/// True when `file` still holds, just before `pos.offset`, the bytes we read.
fn still_ours(file: &File, meta: &Metadata, pos: &LogPos) -> io::Result<bool> {
    if meta.len() < pos.offset {
        return Ok(false);
    }
    Ok(fingerprint(file, pos.offset)? == pos.fp)
}

/// The names logrotate gives `path` once rotated, each followed by `ext`
/// (`""`, or `".gz"` once compressed): `.1`, `.0`, then `-YYYYMMDD`, newest first.
fn rotated_names(path: &Path, ext: &str) -> Vec<PathBuf> {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = [".1", ".0"]
        .iter()
        .map(|suffix| path.with_file_name(format!("{name}{suffix}{ext}")))
        .collect();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Ok(entries) = std::fs::read_dir(dir) {
        let prefix = format!("{name}-");
        let mut dated: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_prefix(&prefix))
                    .and_then(|rest| rest.strip_suffix(ext))
                    .is_some_and(|date| {
                        !date.is_empty() && date.bytes().all(|b| b.is_ascii_digit())
                    })
            })
            .collect();
        // Newest first: the rotation we missed is the most recent one.
        dated.sort();
        dated.reverse();
        out.extend(dated);
    }
    out
}

fn find_rotated(path: &Path, pos: &LogPos) -> Option<(PathBuf, File)> {
    rotated_names(path, "").into_iter().find_map(|cand| {
        let file = File::open(&cand).ok()?;
        let meta = file.metadata().ok()?;
        (meta.ino() == pos.inode && meta.dev() == pos.dev).then_some((cand, file))
    })
}

/// Compressed rotated files are found by their contents, not their inode,
/// so only the newest few are decompressed to look.
const GZ_CANDIDATES: usize = 3;

/// The compressed rotated files that exist, newest first, at most `GZ_CANDIDATES`.
fn rotated_gz_candidates(path: &Path) -> Vec<PathBuf> {
    let mut out = rotated_names(path, ".gz");
    out.retain(|p| p.exists());
    out.truncate(GZ_CANDIDATES);
    out
}

/// What a compressed candidate turned out to be.
enum GzCheck {
    /// Its decompressed bytes before the saved offset are the ones we read:
    /// the decoder stands at the offset.
    Ours(Box<flate2::read::MultiGzDecoder<File>>),
    NotOurs,
    Unreadable(io::Error),
}

fn check_gz(cand: &Path, pos: &LogPos) -> GzCheck {
    let file = match File::open(cand) {
        Ok(f) => f,
        Err(e) => return GzCheck::Unreadable(e),
    };
    let mut dec = flate2::read::MultiGzDecoder::new(file);
    let start = pos.offset.saturating_sub(FINGERPRINT_LEN);
    match io::copy(&mut (&mut dec).take(start), &mut io::sink()) {
        Ok(n) if n < start => return GzCheck::NotOurs,
        Ok(_) => {}
        Err(e) => return GzCheck::Unreadable(e),
    }
    // read_to_end tells a clean, short end (not ours) from a corrupt stream (an error).
    let want = pos.offset - start;
    let mut before = Vec::with_capacity(want as usize);
    match (&mut dec).take(want).read_to_end(&mut before) {
        Ok(n) if n as u64 == want && fnv1a(&before) == pos.fp => GzCheck::Ours(Box::new(dec)),
        Ok(_) => GzCheck::NotOurs,
        Err(e) => GzCheck::Unreadable(e),
    }
}

/// When the old file of a replaced log is not found uncompressed, reads its
/// unread tail from the compressed copy logrotate made: the first candidate
/// whose decompressed bytes before the saved offset match the fingerprint.
/// Returns `Rotated` when the tail was read, `Replaced` with what was lost
/// otherwise. With nothing read before (offset 0) no copy can be told to be
/// ours, so none is read: reading another day's file would count it twice.
fn read_rotated_gz(
    path: &Path,
    pos: &LogPos,
    on_line: &mut impl FnMut(&[u8]),
    total: &mut ReadStats,
) -> Resume {
    let lost = |offset: u64, why: String| Resume::Replaced(Lost { offset, why });
    let mut unreadable: Option<(PathBuf, io::Error)> = None;
    if pos.offset > 0 {
        for cand in rotated_gz_candidates(path) {
            let dec = match check_gz(&cand, pos) {
                GzCheck::Ours(dec) => dec,
                GzCheck::NotOurs => continue,
                GzCheck::Unreadable(e) => {
                    unreadable.get_or_insert((cand, e));
                    continue;
                }
            };
            // Lines are passed on as they are decompressed; if the stream breaks
            // off, those already read count and the rest is reported lost.
            let mut read = 0u64;
            let mut lines = 0u64;
            let result = for_each_line(BufReader::with_capacity(READ_BLOCK, dec), true, |l| {
                read += l.len() as u64 + 1;
                lines += 1;
                on_line(l)
            });
            return match result {
                Ok(stats) => {
                    *total = stats;
                    Resume::Rotated(cand)
                }
                Err(e) => {
                    total.lines = lines;
                    lost(
                        pos.offset + read,
                        format!(
                            "its old file {} broke off after {lines} more line(s): {e}",
                            cand.display()
                        ),
                    )
                }
            };
        }
    }
    match unreadable {
        Some((cand, e)) => lost(
            pos.offset,
            format!(
                "its old file was not found, and {} cannot be decompressed to check ({e})",
                cand.display()
            ),
        ),
        None => lost(pos.offset, "its old file was not found".to_string()),
    }
}

/// Reads `file` from `offset` up to its length now; later appends wait for the next run.
fn read_from(
    file: &mut File,
    offset: u64,
    len: u64,
    final_line: bool,
    on_line: &mut impl FnMut(&[u8]),
) -> io::Result<ReadStats> {
    file.seek(SeekFrom::Start(offset))?;
    let limited = (&*file).take(len.saturating_sub(offset));
    for_each_line(
        BufReader::with_capacity(READ_BLOCK, limited),
        final_line,
        &mut *on_line,
    )
}

/// Reads the whole lines a log gained since `saved`. `Ok(None)` when the log
/// does not exist (many hosts have no vsftpd).
pub fn read_log(
    path: &Path,
    saved: Option<&LogPos>,
    mut on_line: impl FnMut(&[u8]),
) -> Result<Option<LogRead>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
    };
    let meta = file
        .metadata()
        .with_context(|| format!("cannot stat {}", path.display()))?;
    let ctx = || format!("cannot read {}", path.display());
    let mut total = ReadStats::default();
    let (start, resume) = match saved {
        None => (0, Resume::New),
        Some(pos) if pos.inode == meta.ino() && pos.dev == meta.dev() => {
            if still_ours(&file, &meta, pos).with_context(ctx)? {
                (pos.offset, Resume::Continue)
            } else {
                (0, Resume::Truncated)
            }
        }
        Some(pos) => match find_rotated(path, pos) {
            Some((old_path, mut old)) => {
                let old_meta = old
                    .metadata()
                    .with_context(|| format!("cannot stat {}", old_path.display()))?;
                if still_ours(&old, &old_meta, pos)
                    .with_context(|| format!("cannot read {}", old_path.display()))?
                {
                    // The rotated file may still end in a partial line; it gets no more
                    // writes that we would see, so its last line is taken as it is.
                    total = read_from(&mut old, pos.offset, old_meta.len(), true, &mut on_line)
                        .with_context(|| format!("cannot read {}", old_path.display()))?;
                }
                (0, Resume::Rotated(old_path))
            }
            // Replaced by a copy of itself (`sed -i`, a restore): same bytes, carry on.
            None if pos.offset > 0 && still_ours(&file, &meta, pos).with_context(ctx)? => {
                (pos.offset, Resume::Continue)
            }
            None => (0, read_rotated_gz(path, pos, &mut on_line, &mut total)),
        },
    };
    let stats = read_from(&mut file, start, meta.len(), false, &mut on_line).with_context(ctx)?;
    let offset = start + stats.consumed;
    let fp = fingerprint(&file, offset).with_context(ctx)?;
    total.lines += stats.lines;
    total.too_long += stats.too_long;
    total.consumed += stats.consumed;
    total.partial = stats.partial;
    Ok(Some(LogRead {
        pos: LogPos {
            offset,
            inode: meta.ino(),
            dev: meta.dev(),
            fp,
        },
        resume,
        stats: total,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

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

    #[test]
    fn a_log_replaced_by_a_copy_of_itself_is_not_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.log");
        std::fs::write(&path, "one\ntwo\n").unwrap();
        let first = read_log(&path, None, |_| {}).unwrap().unwrap();
        // `sed -i` writes a new file (a new inode) and renames it over the old one.
        let copy = dir.path().join("auth.log.sed");
        std::fs::write(&copy, "one\ntwo\nthree\n").unwrap();
        std::fs::rename(&copy, &path).unwrap();
        let mut seen = Vec::new();
        let r = read_log(&path, Some(&first.pos), |l| seen.push(l.to_vec()))
            .unwrap()
            .unwrap();
        assert_eq!(seen, vec![b"three".to_vec()]);
        assert_eq!(r.resume, Resume::Continue);
    }

    #[test]
    fn log_positions_follow_truncation_and_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.log");
        std::fs::write(&path, "one\ntwo\npart").unwrap();
        let collect = |saved: Option<&LogPos>| {
            let mut seen = Vec::new();
            let r = read_log(&path, saved, |l| {
                seen.push(String::from_utf8_lossy(l).into_owned())
            })
            .unwrap()
            .unwrap();
            (seen, r)
        };
        let (seen, r1) = collect(None);
        assert_eq!(seen, ["one", "two"]);
        assert_eq!((r1.pos.offset, r1.resume.clone()), (8, Resume::New));

        std::fs::write(&path, "one\ntwo\npartial\nthree\n").unwrap();
        let (seen, r2) = collect(Some(&r1.pos));
        assert_eq!(seen, ["partial", "three"]);
        assert_eq!(r2.resume, Resume::Continue);

        // copytruncate, then refilled past the old offset before we looked.
        std::fs::write(&path, "NEW1\nNEW2\nNEW3\nNEW4\nNEW5\nNEW6\n").unwrap();
        let (seen, r3) = collect(Some(&r2.pos));
        assert_eq!(seen.len(), 6);
        assert_eq!(r3.resume, Resume::Truncated);

        // logrotate: rename, then a new file; the old one got a last line meanwhile.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        io::Write::write_all(&mut f, b"tail\n").unwrap();
        std::fs::rename(&path, dir.path().join("auth.log.1")).unwrap();
        std::fs::write(&path, "fresh\n").unwrap();
        let (seen, r4) = collect(Some(&r3.pos));
        assert_eq!(seen, ["tail", "fresh"]);
        assert_eq!(r4.resume, Resume::Rotated(dir.path().join("auth.log.1")));

        assert!(
            read_log(&dir.path().join("nope.log"), None, |_| {})
                .unwrap()
                .is_none()
        );
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        io::Write::write_all(&mut enc, bytes).unwrap();
        enc.finish().unwrap()
    }

    /// Reads `path` from `saved`, returning the lines seen and the outcome.
    fn read_all(path: &Path, saved: Option<&LogPos>) -> (Vec<String>, LogRead) {
        let mut seen = Vec::new();
        let r = read_log(path, saved, |l| {
            seen.push(String::from_utf8_lossy(l).into_owned())
        })
        .unwrap()
        .unwrap();
        (seen, r)
    }

    #[test]
    fn compressed_rotation_reads_the_tail_of_the_right_copy() {
        for rotated in ["auth.log.1.gz", "auth.log-20261126.gz"] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("auth.log");
            let old = "one\ntwo\n".to_string() + &"x".repeat(100) + "\n";
            std::fs::write(&path, &old).unwrap();
            let (_, r1) = read_all(&path, None);
            // An unrelated copy that sorts first (newest) must not be taken.
            std::fs::write(
                dir.path().join("auth.log-20261127.gz"),
                gzip(
                    b"another day entirely, long enough to pass the offset\n"
                        .repeat(4)
                        .as_slice(),
                ),
            )
            .unwrap();
            // logrotate with `compress` and no `delaycompress`: rename, create the
            // new file, compress the old one and delete it. The lines it gained
            // since our read are now only in its .gz copy.
            let tail = "tail1\ntail2 without newline";
            std::fs::rename(&path, dir.path().join("auth.log.1")).unwrap();
            std::fs::write(&path, "fresh\n").unwrap();
            std::fs::write(dir.path().join(rotated), gzip((old + tail).as_bytes())).unwrap();
            std::fs::remove_file(dir.path().join("auth.log.1")).unwrap();
            let (seen, r2) = read_all(&path, Some(&r1.pos));
            assert_eq!(
                seen,
                ["tail1", "tail2 without newline", "fresh"],
                "{rotated}"
            );
            assert_eq!(r2.resume, Resume::Rotated(dir.path().join(rotated)));
            assert_eq!(r2.pos.offset, 6);
            assert_eq!(r2.stats.lines, 3);
        }
    }

    #[test]
    fn compressed_rotation_that_cannot_be_read_is_lost_and_said() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.log");
        let old = "line one\n".repeat(20);
        std::fs::write(&path, &old).unwrap();
        let (_, r1) = read_all(&path, None);
        std::fs::rename(&path, dir.path().join("auth.log.1")).unwrap();
        std::fs::write(&path, "fresh\n").unwrap();
        std::fs::remove_file(dir.path().join("auth.log.1")).unwrap();

        // No rotated copy at all.
        let (seen, r) = read_all(&path, Some(&r1.pos));
        assert_eq!(seen, ["fresh"]);
        let Resume::Replaced(lost) = &r.resume else {
            panic!("{:?}", r.resume)
        };
        assert_eq!(lost.offset, 180);
        assert_eq!(
            lost.to_string(),
            "its old file was not found; whatever it held after byte 180 was skipped (how many bytes is unknown)"
        );

        // A copy that is not gzip.
        let gz = dir.path().join("auth.log.1.gz");
        std::fs::write(&gz, b"not gzip at all").unwrap();
        let (seen, r) = read_all(&path, Some(&r1.pos));
        assert_eq!(seen, ["fresh"]);
        let Resume::Replaced(lost) = &r.resume else {
            panic!("{:?}", r.resume)
        };
        assert!(
            lost.why.contains("auth.log.1.gz cannot be decompressed"),
            "{lost}"
        );

        // Ours, but cut short (a full disk while compressing): the lines before the
        // break are read, the rest is reported.
        let mut full = old.clone();
        for i in 0..2000 {
            full.push_str(&format!("after {i}\n"));
        }
        let mut bytes = gzip(full.as_bytes());
        bytes.truncate(bytes.len() * 2 / 3);
        std::fs::write(&gz, &bytes).unwrap();
        let (seen, r) = read_all(&path, Some(&r1.pos));
        assert!(seen.len() > 1 && seen[0] == "after 0", "{:?}", &seen[..2]);
        assert_eq!(seen.last().unwrap(), "fresh");
        let Resume::Replaced(lost) = &r.resume else {
            panic!("{:?}", r.resume)
        };
        assert!(lost.why.contains("broke off after"), "{lost}");
        assert!(lost.offset > 180, "{lost}");
        for (i, l) in seen[..seen.len() - 1].iter().enumerate() {
            assert_eq!(l, &format!("after {i}"), "in order, and no torn line");
        }

        // Nothing was read before (offset 0): no copy can be told to be ours.
        std::fs::write(&gz, gzip(b"whole other file\n")).unwrap();
        let empty = LogPos {
            offset: 0,
            fp: fnv1a(b""),
            ..r1.pos.clone()
        };
        let (seen, r) = read_all(&path, Some(&empty));
        assert_eq!(seen, ["fresh"]);
        assert!(matches!(r.resume, Resume::Replaced(_)), "{:?}", r.resume);
    }
}
