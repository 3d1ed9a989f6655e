//! Log files read from a saved position that survives truncation,
//! replacement and rotation: every generation logrotate made since
//! (renamed, copied, compressed, dated) is read in order, and the renamed
//! file is watched for its writer's late lines. This module holds the
//! positions and the resume algorithm; `rotation` knows a file again
//! wherever it went; lines are read by `crate::lines`.

use std::fs::{File, Metadata};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::lines::{READ_BLOCK, ReadStats, for_each_line};

mod rotation;

use rotation::{
    FoundGen, Gen, OpenGen, born, fingerprint, generations, locate, mtime, open_nonblocking,
    open_plain, regular, same_file, still_ours,
};

/// Where the last run stopped reading one log: a byte offset in one file,
/// and enough to know that file again wherever logrotate moved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPos {
    pub offset: u64,
    pub inode: u64,
    pub dev: u64,
    /// FNV-1a of the bytes just before `offset`: a file truncated and
    /// refilled past the offset fails this check, and a copy or a gzip of
    /// the file (copytruncate, compress) passes it.
    pub fp: u64,
    /// The file's birth time in ns, 0 where the filesystem does not say: a
    /// new file that reused the old one's inode number is not the old file.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub born: u64,
    /// The file's last write (mtime, ns) when it was read: a rotated file
    /// written before this cannot be newer than it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seen: u64,
    /// The file the log was last rotated away from, still read for the lines
    /// its writer adds until it is signalled (what `delaycompress` is for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<Box<PrevPos>>,
}

/// The previous generation of a log: where it was, and where reading it stopped.
/// Watched until the next rotation moves the log on again, or until it is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrevPos {
    /// Where it was last seen (`auth.log.1`); looked for by identity elsewhere too.
    pub path: String,
    #[serde(flatten)]
    pub at: Mark,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl LogPos {
    /// One line on where this log is read and what rotation left to watch,
    /// e.g. `byte 4096 of inode 12 (dev 2049); also watching auth.log.1 from byte 800 for late writes`.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "byte {} of inode {} (dev {})",
            self.offset, self.inode, self.dev
        );
        match &self.prev {
            Some(p) => out.push_str(&format!(
                "; also watching {} (inode {}) from byte {} for late writes until the next rotation",
                p.path, p.at.inode, p.at.offset
            )),
            None => out.push_str("; no rotated file watched"),
        }
        out
    }

    fn mark(&self) -> Mark {
        Mark {
            offset: self.offset,
            inode: self.inode,
            dev: self.dev,
            fp: self.fp,
            born: self.born,
        }
    }
}

/// A position in one file, whichever generation of the log it is now: its
/// fields are `LogPos`'s first ones, which the state spells out in the
/// log's own entry (`LogPos::mark` reads them back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub offset: u64,
    pub inode: u64,
    pub dev: u64,
    pub fp: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub born: u64,
}

impl Mark {
    /// `file` (whose metadata is `meta`) read up to `offset`.
    fn of(file: &File, meta: &Metadata, offset: u64) -> io::Result<Mark> {
        Ok(Mark {
            offset,
            inode: meta.ino(),
            dev: meta.dev(),
            fp: fingerprint(file, offset)?,
            born: born(meta),
        })
    }
}

/// What happened when a log was opened at its saved position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// First sight of this log: read from the start.
    New,
    /// Same file, carry on from the offset.
    Continue,
    /// Shorter than the offset, or its bytes before the offset changed, and
    /// no rotated copy holds them: read from the start.
    Truncated,
    /// A different file now sits at the path and the old one's unread tail
    /// could not be read (not found, or compressed and unreadable): what was lost.
    Replaced(Lost),
    /// Rotated: the old file's tail was read from this path first, then every
    /// newer generation (`LogRead::files` lists them).
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
    /// Every file read from, oldest first; the log's own path last.
    pub files: Vec<PathBuf>,
    /// Whole lines are left in the log itself, past the `limit` of `read_log_upto`.
    pub more: bool,
}

/// Reads `file` from `offset` up to its length now; later appends wait for the next run.
fn read_from(
    file: &File,
    offset: u64,
    len: u64,
    final_line: bool,
    on_line: &mut impl FnMut(&[u8]),
) -> io::Result<ReadStats> {
    let mut f = file;
    f.seek(SeekFrom::Start(offset))?;
    let limited = f.take(len.saturating_sub(offset));
    for_each_line(
        BufReader::with_capacity(READ_BLOCK, limited),
        final_line,
        &mut *on_line,
    )
}

fn add(total: &mut ReadStats, s: &ReadStats) {
    total.consumed += s.consumed;
    total.lines += s.lines;
    total.too_long += s.too_long;
}

/// The lines a whole log read gathers, across its generations.
struct Reading<'f, F> {
    on_line: &'f mut F,
    stats: ReadStats,
    files: Vec<PathBuf>,
    lost: Option<Lost>,
}

impl<F: FnMut(&[u8])> Reading<'_, F> {
    /// Reads a rotated generation from where `opened` stands (`start`), to its
    /// end now. Returns where reading stopped. A partial last line waits
    /// only in a file still watched (`final_line` false).
    fn rotated(
        &mut self,
        path: &Path,
        opened: &mut OpenGen,
        start: u64,
        final_line: bool,
    ) -> Result<u64> {
        self.files.push(path.to_path_buf());
        match opened {
            OpenGen::Plain { file, meta } => {
                let s = read_from(file, start, meta.len(), final_line, self.on_line)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                add(&mut self.stats, &s);
                Ok(start + s.consumed)
            }
            OpenGen::Gz(dec) => {
                // Lines are passed on as they are decompressed; if the stream breaks
                // off, those already read count and the rest is reported lost.
                let mut read = 0u64;
                let mut lines = 0u64;
                let on_line = &mut *self.on_line;
                let reader = BufReader::with_capacity(READ_BLOCK, &mut **dec);
                let result = for_each_line(reader, true, |l| {
                    read += l.len() as u64 + 1;
                    lines += 1;
                    on_line(l)
                });
                match result {
                    Ok(s) => add(&mut self.stats, &s),
                    Err(e) => {
                        self.stats.lines += lines;
                        self.lost.get_or_insert(Lost {
                            offset: start + read,
                            why: format!(
                                "its old file {} broke off after {lines} more line(s): {e}",
                                path.display()
                            ),
                        });
                    }
                }
                Ok(start + read)
            }
        }
    }

    /// Reads a whole generation we have not seen before.
    fn whole(&mut self, g: &Gen, final_line: bool) -> Result<(u64, OpenGen)> {
        let ctx = || format!("cannot open {}", g.path.display());
        let (file, meta) = regular(&g.path, open_nonblocking(&g.path).with_context(ctx)?)?;
        let mut opened = if g.gz {
            OpenGen::Gz(Box::new(flate2::read::MultiGzDecoder::new(file)))
        } else {
            OpenGen::Plain { file, meta }
        };
        let end = self.rotated(&g.path, &mut opened, 0, final_line || g.gz)?;
        Ok((end, opened))
    }
}

/// The previous generation to keep watching: `path` read up to `offset`.
fn prev_pos(path: &Path, file: &File, meta: &Metadata, offset: u64) -> io::Result<PrevPos> {
    Ok(PrevPos {
        path: path.to_string_lossy().into_owned(),
        at: Mark::of(file, meta, offset)?,
    })
}

/// Finds the watched previous generation: where it was last seen, else
/// wherever it went since (renamed further, or compressed).
fn locate_prev(
    p: &PrevPos,
    gens: &mut Option<Vec<Gen>>,
    path: &Path,
) -> Option<(PathBuf, OpenGen)> {
    let m = p.at;
    let seen = PathBuf::from(&p.path);
    if let Some((file, meta)) = open_plain(&seen)
        && same_file(&meta, &m)
        && still_ours(&file, &meta, &m).unwrap_or(false)
    {
        return Some((seen, OpenGen::Plain { file, meta }));
    }
    let gens = gens.get_or_insert_with(|| generations(path));
    let found = locate(gens, &m, &mut None)?;
    Some((gens[found.index].path.clone(), found.opened))
}

/// True when the log is missing because logrotate has just renamed it and
/// the new file is not there yet (`nocreate`: the daemon makes it when
/// signalled): the file last read is found among the rotated generations.
/// Nothing is lost then; the next run reads it. For the caller deciding
/// whether a missing log is worth a word.
pub fn rotated_away(path: &Path, saved: &LogPos) -> bool {
    !path.exists() && locate(&generations(path), &saved.mark(), &mut None).is_some()
}

/// A position at the log's end as it is now, after its last whole line (a
/// line still being written is read once it is whole), for a reader that
/// takes over a log whose lines it already has from elsewhere. `Ok(None)`
/// when the log does not exist.
pub fn at_end(path: &Path) -> Result<Option<LogPos>> {
    use std::os::unix::fs::FileExt;
    let (file, meta) = match open_nonblocking(path) {
        Ok(opened) => regular(path, opened)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
    };
    let ctx = || format!("cannot read {}", path.display());
    let len = meta.len();
    let mut tail = vec![0; len.min(READ_BLOCK as u64) as usize];
    let from = len - tail.len() as u64;
    file.read_exact_at(&mut tail, from).with_context(ctx)?;
    let offset = match tail.iter().rposition(|&b| b == b'\n') {
        Some(i) => from + i as u64 + 1,
        // No line ends in the file: its one line is read once whole.
        None if from == 0 => 0,
        // A last line longer than a block is skipped as too long anyway.
        None => len,
    };
    let m = Mark::of(&file, &meta, offset).with_context(ctx)?;
    Ok(Some(LogPos {
        offset: m.offset,
        inode: m.inode,
        dev: m.dev,
        fp: m.fp,
        born: m.born,
        seen: mtime(&meta),
        prev: None,
    }))
}

/// Reads the whole lines a log gained since `saved`, in every generation
/// logrotate made of it since: the rest of the file we were reading,
/// wherever it went (renamed, copied, compressed), then each newer rotated
/// file, then the log itself. `Ok(None)` when the log does not exist (many
/// hosts have no vsftpd).
pub fn read_log(
    path: &Path,
    saved: Option<&LogPos>,
    on_line: impl FnMut(&[u8]),
) -> Result<Option<LogRead>> {
    read_log_upto(path, saved, None, on_line)
}

/// `read_log`, reading the log itself (not its rotated generations) no
/// further than the last whole line within `limit` bytes of where it
/// starts; `more` then says whether lines are left. At least one line is
/// read, however long it is, so that a caller reading on always gets on.
///
/// In four phases: where the saved position is now (`find_saved`); the
/// watched previous generation (`Reading::watched_prev`); the generations
/// rotated since, or why the position is lost (`Reading::rotated_since`,
/// `gone`); then the log itself (`Reading::the_log`).
pub fn read_log_upto(
    path: &Path,
    saved: Option<&LogPos>,
    limit: Option<u64>,
    mut on_line: impl FnMut(&[u8]),
) -> Result<Option<LogRead>> {
    let (file, meta) = match open_nonblocking(path) {
        Ok(opened) => regular(path, opened)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
    };
    let log = Log { path, file, meta };
    let mut r = Reading {
        on_line: &mut on_line,
        stats: ReadStats::default(),
        files: Vec::new(),
        lost: None,
    };
    // Listed only when the log is not where we left it: a quiet run reads
    // no folder.
    let mut gens: Option<Vec<Gen>> = None;
    let mut unreadable = None;
    let cur = log.find_saved(saved, &mut gens, &mut unreadable)?;
    // The previous generation first: it is older than anything below.
    let mut prev = match saved.and_then(|s| s.prev.as_deref()) {
        Some(p) => r.watched_prev(p, &cur, &mut gens, path)?,
        None => None,
    };
    let (start, resume) = match cur {
        Cur::Here(offset) => (offset, Resume::Continue),
        Cur::Rotated(found) => {
            let list = gens.take().unwrap_or_default();
            let (old, newest) = r.rotated_since(found, &list, saved)?;
            if newest.is_some() {
                prev = newest;
            }
            (0, Resume::Rotated(old))
        }
        Cur::Gone => (0, log.gone(saved, unreadable)),
    };
    // A compressed generation that broke off is the one loss to say.
    let resume = match (r.lost.take(), resume) {
        (Some(lost), Resume::Continue | Resume::Rotated(_)) => Resume::Replaced(lost),
        (_, resume) => resume,
    };
    r.the_log(&log, start, limit, resume, prev).map(Some)
}

/// The log itself, open.
struct Log<'p> {
    path: &'p Path,
    file: File,
    meta: Metadata,
}

/// Where the saved position is now.
enum Cur {
    Here(u64),
    Rotated(FoundGen),
    Gone,
}

impl Log<'_> {
    fn ctx(&self) -> impl Fn() -> String + '_ {
        || format!("cannot read {}", self.path.display())
    }

    /// Phase one: the saved position in the log itself, in a rotated
    /// generation (the generations are listed into `gens`), or nowhere.
    fn find_saved(
        &self,
        saved: Option<&LogPos>,
        gens: &mut Option<Vec<Gen>>,
        unreadable: &mut Option<(PathBuf, io::Error)>,
    ) -> Result<Cur> {
        let Some(pos) = saved else {
            return Ok(Cur::Gone);
        };
        let here = |m: &Mark| still_ours(&self.file, &self.meta, m).with_context(self.ctx());
        let m = pos.mark();
        if same_file(&self.meta, &m) && here(&m)? {
            return Ok(Cur::Here(pos.offset));
        }
        let list = gens.get_or_insert_with(|| generations(self.path));
        Ok(match locate(list, &m, unreadable) {
            Some(found) => Cur::Rotated(found),
            // Replaced by a copy of itself (`sed -i`, a restore): same bytes, carry on.
            None if pos.offset > 0 && here(&m)? => Cur::Here(pos.offset),
            None => Cur::Gone,
        })
    }

    /// Phase three, when the saved position was found nowhere: a new log,
    /// one truncated, or one whose old file is lost (and why).
    fn gone(&self, saved: Option<&LogPos>, unreadable: Option<(PathBuf, io::Error)>) -> Resume {
        let Some(pos) = saved else {
            return Resume::New;
        };
        let m = pos.mark();
        if same_file(&self.meta, &m) {
            return Resume::Truncated;
        }
        let reused = if self.meta.ino() == m.inode && self.meta.dev() == m.dev {
            " (a new file took its inode number)"
        } else {
            ""
        };
        let why = match unreadable {
            Some((cand, e)) => format!(
                "its old file was not found{reused}, and {} cannot be decompressed to check ({e})",
                cand.display()
            ),
            None => format!("its old file was not found{reused}"),
        };
        Resume::Replaced(Lost {
            offset: pos.offset,
            why,
        })
    }
}

impl<F: FnMut(&[u8])> Reading<'_, F> {
    /// Phase two: the rest of the watched previous generation `p`, unless
    /// a newer one than it is read below (`cur`). Returns it, to watch on,
    /// while the log was not rotated again.
    fn watched_prev(
        &mut self,
        p: &PrevPos,
        cur: &Cur,
        gens: &mut Option<Vec<Gen>>,
        path: &Path,
    ) -> Result<Option<PrevPos>> {
        let Some((prev_path, mut opened)) = locate_prev(p, gens, path) else {
            return Ok(None);
        };
        let newer_read = match cur {
            Cur::Rotated(f) => gens.as_deref().unwrap_or_default()[..=f.index]
                .iter()
                .any(|g| g.path == prev_path),
            _ => false,
        };
        if newer_read {
            return Ok(None);
        }
        // Watched while the log was not rotated again; after that its writer has
        // long been signalled, and its last line is taken as it is.
        let watched = matches!(cur, Cur::Here(_)) && matches!(opened, OpenGen::Plain { .. });
        let end = self.rotated(&prev_path, &mut opened, p.at.offset, !watched)?;
        match (watched, &opened) {
            (true, OpenGen::Plain { file, meta }) => Ok(Some(
                prev_pos(&prev_path, file, meta, end)
                    .with_context(|| format!("cannot read {}", prev_path.display()))?,
            )),
            _ => Ok(None),
        }
    }

    /// Phase three, when the saved position is in a rotated generation:
    /// the rest of it, then every newer generation. Returns the old file's
    /// path, and the newest generation read, to watch, if it is plain.
    fn rotated_since(
        &mut self,
        found: FoundGen,
        list: &[Gen],
        saved: Option<&LogPos>,
    ) -> Result<(PathBuf, Option<PrevPos>)> {
        let old = list[found.index].path.clone();
        let offset = saved.map_or(0, |s| s.offset);
        // Every newer generation, oldest first, written since our read: an
        // old file that merely sorts newer (left from another naming, a
        // stray copy) is left alone.
        let seen = saved.map_or(0, |s| s.seen);
        let newer: Vec<&Gen> = list[..found.index]
            .iter()
            .rev()
            .filter(|g| std::fs::metadata(&g.path).is_ok_and(|m| mtime(&m) >= seen))
            .collect();
        // The newest of them may still be written to until its writer is
        // signalled: its partial last line waits, and it is watched from here.
        let mut opened = found.opened;
        let end = self.rotated(&old, &mut opened, offset, !newer.is_empty())?;
        let mut newest = (end, opened, &list[found.index]);
        for (n, g) in newer.iter().enumerate() {
            let (end, opened) = self.whole(g, n + 1 < newer.len())?;
            newest = (end, opened, g);
        }
        let prev = match &newest {
            (end, OpenGen::Plain { file, meta }, g) => Some(
                prev_pos(&g.path, file, meta, *end)
                    .with_context(|| format!("cannot read {}", g.path.display()))?,
            ),
            _ => None,
        };
        Ok((old, prev))
    }

    /// Phase four: the log itself from `start`, within `limit` (see
    /// `read_log_upto`), and the position to save.
    fn the_log(
        mut self,
        log: &Log,
        start: u64,
        limit: Option<u64>,
        resume: Resume,
        prev: Option<PrevPos>,
    ) -> Result<LogRead> {
        let (file, meta) = (&log.file, &log.meta);
        let upto = |reach: Option<u64>| {
            reach.map_or(meta.len(), |n| meta.len().min(start.saturating_add(n)))
        };
        let mut reach = limit;
        let mut until = upto(reach);
        let mut stats =
            read_from(file, start, until, false, self.on_line).with_context(log.ctx())?;
        while stats.consumed == 0 && until < meta.len() {
            // Not one whole line within reach, so none was passed on: reach further.
            reach = reach.map(|n| n.saturating_mul(2));
            until = upto(reach);
            stats = read_from(file, start, until, false, self.on_line).with_context(log.ctx())?;
        }
        let more = until < meta.len();
        self.files.push(log.path.to_path_buf());
        add(&mut self.stats, &stats);
        self.stats.partial = stats.partial;
        let m = Mark::of(file, meta, start + stats.consumed).with_context(log.ctx())?;
        Ok(LogRead {
            pos: LogPos {
                offset: m.offset,
                inode: m.inode,
                dev: m.dev,
                fp: m.fp,
                born: m.born,
                seen: mtime(meta),
                prev: prev.map(Box::new),
            },
            resume,
            stats: self.stats,
            files: self.files,
            more,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::rotation::BORN;
    use super::*;
    use crate::hash::fnv1a;

    #[test]
    fn a_watched_file_is_saved_in_the_same_fields_as_before() {
        let mut p = PrevPos {
            path: "auth.log.1".into(),
            at: Mark {
                offset: 1,
                inode: 2,
                dev: 3,
                fp: 4,
                born: 0,
            },
        };
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(
            text,
            r#"{"path":"auth.log.1","offset":1,"inode":2,"dev":3,"fp":4}"#
        );
        assert_eq!(serde_json::from_str::<PrevPos>(&text).unwrap(), p);
        p.at.born = 5;
        let text = serde_json::to_string(&p).unwrap();
        assert!(text.ends_with(r#","fp":4,"born":5}"#), "{text}");
        assert_eq!(serde_json::from_str::<PrevPos>(&text).unwrap(), p);
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
    fn a_limited_read_stops_at_a_whole_line_and_the_next_goes_on_from_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.log");
        let long = "L".repeat(50);
        let mut lines = vec![
            "aaaa".to_string(),
            "bbbb".into(),
            "cccc".into(),
            long.clone(),
        ];
        lines.extend((0..20).map(|i| format!("d{i:02}")));
        let text = format!("{}\npart", lines.join("\n"));
        std::fs::write(&path, &text).unwrap();
        let mut seen: Vec<String> = Vec::new();
        let mut saved: Option<LogPos> = None;
        let mut reads = Vec::new();
        loop {
            let r = read_log_upto(&path, saved.as_ref(), Some(12), |l| {
                seen.push(String::from_utf8_lossy(l).into_owned())
            })
            .unwrap()
            .unwrap();
            let from = saved.as_ref().map_or(0, |p| p.offset);
            reads.push((r.pos.offset - from, r.more));
            saved = Some(r.pos);
            if !r.more {
                break;
            }
        }
        assert_eq!(seen, lines, "every whole line once, in order");
        // 12 bytes hold two whole lines; the 51 bytes of the long one are
        // reached by doubling (12, 24, 48, 96), with 11 short lines after it.
        assert_eq!(reads[..3], [(10, true), (5, true), (95, true)]);
        // Every read that leaves more got on, by at most the limit.
        assert!(
            reads[3..]
                .iter()
                .all(|&(n, more)| !more || (n > 0 && n <= 12)),
            "{reads:?}"
        );
        assert_eq!(
            reads.last(),
            Some(&(0, false)),
            "only the partial line was left"
        );
        let end = saved.as_ref().unwrap().offset;
        assert_eq!(end, text.len() as u64 - 4, "the partial last line waits");
        let r = read_log_upto(&path, saved.as_ref(), None, |_| panic!("nothing new")).unwrap();
        assert_eq!(r.unwrap().pos.offset, end);
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

    /// Sets `path`'s last write `secs` into the past.
    fn age(path: &Path, secs: u64) {
        let t = std::time::SystemTime::now() - std::time::Duration::from_secs(secs);
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(t)
            .unwrap();
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
            // It was written long before our read: not a newer generation either.
            age(&dir.path().join("auth.log-20261127.gz"), 86_400);
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

    fn append(path: &Path, text: &str) {
        let mut f = File::options()
            .append(true)
            .create(true)
            .open(path)
            .unwrap();
        io::Write::write_all(&mut f, text.as_bytes()).unwrap();
    }

    #[test]
    fn rotated_names_numbered_then_dated_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.log");
        for n in [
            "auth.log",
            "auth.log.2.gz",
            "auth.log.1",
            "auth.log.10.gz",
            "auth.log-2026-11-30",
            "auth.log-2026-12-01.gz",
            "auth.log-20261129",
            "auth.log.lock",
            "auth.log-old",
            "auth.log.bak",
            "auth.logger.1",
            "other.log.1",
        ] {
            std::fs::write(dir.path().join(n), "").unwrap();
        }
        let names: Vec<String> = generations(&path)
            .iter()
            .map(|g| g.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "auth.log.1",
                "auth.log.2.gz",
                "auth.log.10.gz",
                "auth.log-2026-12-01.gz",
                "auth.log-2026-11-30",
                "auth.log-20261129",
            ]
        );
    }

    #[test]
    fn two_rotations_between_runs_read_the_middle_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.log");
        let p = |n: &str| dir.path().join(n);
        std::fs::write(&path, "a1\n").unwrap();
        let (_, r1) = read_all(&path, None);
        append(&path, "a2\n");
        std::fs::rename(&path, p("auth.log.1")).unwrap();
        std::fs::write(&path, "b1\n").unwrap();
        std::fs::rename(p("auth.log.1"), p("auth.log.2")).unwrap();
        std::fs::rename(&path, p("auth.log.1")).unwrap();
        std::fs::write(&path, "c1\n").unwrap();
        let (seen, r2) = read_all(&path, Some(&r1.pos));
        assert_eq!(seen, ["a2", "b1", "c1"]);
        assert_eq!(r2.resume, Resume::Rotated(p("auth.log.2")));
        assert_eq!(r2.files, [p("auth.log.2"), p("auth.log.1"), path.clone()]);
        let (seen, _) = read_all(&path, Some(&r2.pos));
        assert!(seen.is_empty(), "nothing twice: {seen:?}");
    }

    #[test]
    fn copytruncate_tail_is_read_from_the_copy() {
        for refill in [
            "c1\n",
            "c1 is a much longer line than the old file had\nc2\n",
        ] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("auth.log");
            std::fs::write(&path, "a1\n").unwrap();
            let (_, r1) = read_all(&path, None);
            append(&path, "a2\n");
            // logrotate's copytruncate: copy to .1, truncate in place, then more lines.
            std::fs::copy(&path, dir.path().join("auth.log.1")).unwrap();
            File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(0)
                .unwrap();
            append(&path, refill);
            assert!(std::fs::metadata(&path).unwrap().ino() == r1.pos.inode);
            let (seen, r2) = read_all(&path, Some(&r1.pos));
            let mut want = vec!["a2".to_string()];
            want.extend(refill.lines().map(str::to_string));
            assert_eq!(seen, want, "refill {refill:?}");
            assert_eq!(r2.resume, Resume::Rotated(dir.path().join("auth.log.1")));
        }
    }

    #[test]
    fn late_writes_to_the_renamed_file_are_read_on_later_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.log");
        let p = |n: &str| dir.path().join(n);
        std::fs::write(&path, "a1\n").unwrap();
        // The daemon's handle: it keeps writing here after the rename.
        let mut daemon = File::options().append(true).open(&path).unwrap();
        let (_, r1) = read_all(&path, None);
        io::Write::write_all(&mut daemon, b"a2\nhalf").unwrap();
        std::fs::rename(&path, p("auth.log.1")).unwrap();
        std::fs::write(&path, "").unwrap();
        let (seen, r2) = read_all(&path, Some(&r1.pos));
        assert_eq!(seen, ["a2"], "the half line waits: its writer is not done");
        let prev = r2.pos.prev.as_deref().expect("the old file is watched");
        assert_eq!(prev.path, p("auth.log.1").to_string_lossy());
        assert!(
            r2.pos.describe().contains("auth.log.1"),
            "{}",
            r2.pos.describe()
        );

        io::Write::write_all(&mut daemon, b" done\na3\n").unwrap();
        append(&path, "b1\n");
        let (seen, r3) = read_all(&path, Some(&r2.pos));
        assert_eq!(seen, ["half done", "a3", "b1"]);
        assert_eq!(r3.resume, Resume::Continue);
        assert!(r3.pos.prev.is_some(), "watched until the next rotation");

        // More late lines, then the next rotation compresses the old file
        // (delaycompress): they are only in auth.log.2.gz now.
        io::Write::write_all(&mut daemon, b"a4\n").unwrap();
        drop(daemon);
        let old = std::fs::read(p("auth.log.1")).unwrap();
        std::fs::write(p("auth.log.2.gz"), gzip(&old)).unwrap();
        std::fs::remove_file(p("auth.log.1")).unwrap();
        append(&path, "b2\n");
        std::fs::rename(&path, p("auth.log.1")).unwrap();
        std::fs::write(&path, "c1\n").unwrap();
        let (seen, r4) = read_all(&path, Some(&r3.pos));
        assert_eq!(seen, ["a4", "b2", "c1"]);
        assert_eq!(
            r4.pos.prev.as_deref().map(|p| p.path.as_str()),
            Some(p("auth.log.1").to_string_lossy().as_ref()),
            "the newest rotated file is watched now"
        );
        let (seen, _) = read_all(&path, Some(&r4.pos));
        assert!(seen.is_empty(), "nothing twice: {seen:?}");
    }

    #[test]
    fn an_inode_number_reused_by_a_new_file_is_not_a_truncation() {
        BORN.set(Some(1_796_000_000_000_000_000));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.log");
        std::fs::write(&path, "a1\n").unwrap();
        let (_, r1) = read_all(&path, None);
        let meta = std::fs::metadata(&path).unwrap();
        // compress: the old file went to .1.gz, and the new file got its inode
        // number back. Said as the saved position of a file born earlier.
        std::fs::write(dir.path().join("auth.log.1.gz"), gzip(b"a1\na2\n")).unwrap();
        std::fs::write(&path, "b1\n").unwrap();
        let reused = LogPos {
            inode: meta.ino(),
            born: r1.pos.born - 1,
            ..r1.pos.clone()
        };
        let (seen, r) = read_all(&path, Some(&reused));
        assert_eq!(seen, ["a2", "b1"]);
        assert_eq!(r.resume, Resume::Rotated(dir.path().join("auth.log.1.gz")));
        // With no copy to be found it is a replacement, not a truncation.
        std::fs::remove_file(dir.path().join("auth.log.1.gz")).unwrap();
        let (seen, r) = read_all(&path, Some(&reused));
        assert_eq!(seen, ["b1"]);
        let Resume::Replaced(lost) = &r.resume else {
            panic!("{:?}", r.resume)
        };
        assert!(lost.why.contains("took its inode number"), "{lost}");
    }

    #[test]
    fn old_files_that_merely_sort_newer_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.log");
        let p = |n: &str| dir.path().join(n);
        // Left from before a switch to dateext, and a stray old dated file.
        std::fs::write(p("auth.log.1"), "stale1\n").unwrap();
        std::fs::write(p("auth.log-20991231"), "stale2\n").unwrap();
        age(&p("auth.log.1"), 86_400);
        age(&p("auth.log-20991231"), 86_400);
        std::fs::write(&path, "a1\n").unwrap();
        let (_, r1) = read_all(&path, None);
        append(&path, "a2\n");
        std::fs::rename(&path, p("auth.log-20261201")).unwrap();
        std::fs::write(&path, "b1\n").unwrap();
        let (seen, r2) = read_all(&path, Some(&r1.pos));
        assert_eq!(seen, ["a2", "b1"]);
        assert_eq!(r2.resume, Resume::Rotated(p("auth.log-20261201")));
    }

    #[test]
    fn a_log_renamed_and_not_yet_created_is_rotated_away() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.log");
        std::fs::write(&path, "a1\n").unwrap();
        let (_, r1) = read_all(&path, None);
        assert!(!rotated_away(&path, &r1.pos), "it is there");
        std::fs::rename(&path, dir.path().join("auth.log.1")).unwrap();
        assert!(rotated_away(&path, &r1.pos));
        std::fs::remove_file(dir.path().join("auth.log.1")).unwrap();
        assert!(!rotated_away(&path, &r1.pos), "gone, not rotated");
    }

    #[test]
    fn a_position_saved_before_rotation_was_tracked_loads() {
        let old = r#"{"offset":10,"inode":2,"dev":3,"fp":4}"#;
        let pos: LogPos = serde_json::from_str(old).unwrap();
        assert_eq!(
            (pos.offset, pos.born, pos.seen, pos.prev.is_none()),
            (10, 0, 0, true)
        );
        assert_eq!(serde_json::to_string(&pos).unwrap(), old);
        assert_eq!(
            pos.describe(),
            "byte 10 of inode 2 (dev 3); no rotated file watched"
        );
    }
}
