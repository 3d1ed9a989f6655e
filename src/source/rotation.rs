//! Knowing a log file again wherever logrotate moved it: a file's identity
//! (inode, device, birth time, the fingerprint of the bytes before an
//! offset), the rotated generations beside a log and how old each is, and
//! finding among them the one a saved position was taken in.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::Mark;
use crate::hash::fnv1a;

/// How many bytes before the saved offset are fingerprinted.
pub(super) const FINGERPRINT_LEN: u64 = 256;
pub(super) fn fingerprint(file: &File, offset: u64) -> io::Result<u64> {
    let start = offset.saturating_sub(FINGERPRINT_LEN);
    let mut buf = vec![0u8; (offset - start) as usize];
    file.read_exact_at(&mut buf, start)?;
    Ok(fnv1a(&buf))
}

/// True when `file` still holds, just before `m.offset`, the bytes we read.
pub(super) fn still_ours(file: &File, meta: &Metadata, m: &Mark) -> io::Result<bool> {
    if meta.len() < m.offset {
        return Ok(false);
    }
    Ok(fingerprint(file, m.offset)? == m.fp)
}

/// The last write, in ns.
pub(super) fn mtime(meta: &Metadata) -> u64 {
    (meta.mtime().max(0) as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.mtime_nsec().max(0) as u64)
}

/// The birth time in ns, or 0 where the filesystem does not keep it.
pub(super) fn born(meta: &Metadata) -> u64 {
    #[cfg(test)]
    if let Some(b) = BORN.get() {
        return b;
    }
    meta.created()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
thread_local! {
    /// The birth time every file has, for a test that needs birth times on
    /// any filesystem (tmpfs and overlayfs keep none).
    pub(super) static BORN: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// The same file as the one `m` was taken in: same inode on the same device,
/// and, where both birth times are known, born at the same time (ext4 hands a
/// freed inode number to the next new file, which logrotate's `create` makes).
pub(super) fn same_file(meta: &Metadata, m: &Mark) -> bool {
    let b = born(meta);
    meta.ino() == m.inode && meta.dev() == m.dev && (m.born == 0 || b == 0 || b == m.born)
}

/// One rotated generation of a log, as logrotate names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Gen {
    pub(super) path: PathBuf,
    pub(super) gz: bool,
}

/// How a rotated name sorts: numbered (`.1`, newest is lowest) before dated
/// (`-20261201`, `-2026-12-01`, `.20261201`, newest is highest).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Age {
    Numbered(u32),
    /// The date's digits, then the suffix as it is.
    Dated(std::cmp::Reverse<String>),
}

/// Longest `.N` taken for a generation number; longer digit runs are dates.
pub(super) const MAX_GEN_DIGITS: usize = 6;

/// How the part of a file name after the log's name (`.1`, `-2026-12-01`,
/// `.gz` already removed) says it is a rotated generation, if it does.
pub(super) fn age_of(suffix: &str) -> Option<Age> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(n) = suffix.strip_prefix('.')
        && digits(n)
        && n.len() <= MAX_GEN_DIGITS
    {
        return n.parse().ok().map(Age::Numbered);
    }
    // logrotate's dateformat: %Y %m %d %H %M %S %V %s, and the separators between them.
    let rest = suffix.strip_prefix(['-', '.', '_'])?;
    let dated = rest.starts_with(|c: char| c.is_ascii_digit())
        && rest
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'));
    // By the digits alone, so `-2026-12-01` and `-20261130` (a dateformat
    // changed) still sort by date.
    let key: String = rest.chars().filter(char::is_ascii_digit).collect();
    dated.then(|| Age::Dated(std::cmp::Reverse(key + rest)))
}

/// The rotated generations of `path` that exist now, newest first.
pub(super) fn generations(path: &Path) -> Vec<Gen> {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(Age, bool, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let file_name = e.file_name();
            let suffix = file_name.to_str()?.strip_prefix(name)?;
            let (suffix, gz) = match suffix.strip_suffix(".gz") {
                Some(s) => (s, true),
                None => (suffix, false),
            };
            Some((age_of(suffix)?, gz, dir.join(&file_name)))
        })
        .collect();
    // An uncompressed copy and its .gz side by side (compressing was cut
    // short): the uncompressed one first, it is the original.
    found.sort();
    found
        .into_iter()
        .map(|(_, gz, path)| Gen { path, gz })
        .collect()
}

/// Compressed generations are known by their contents, not their inode,
/// so only this many are decompressed to look.
pub(super) const GZ_CANDIDATES: usize = 3;

/// What a compressed candidate turned out to be.
pub(super) enum GzCheck {
    /// Its decompressed bytes before the saved offset are the ones we read:
    /// the decoder stands at the offset.
    Ours(Box<flate2::read::MultiGzDecoder<File>>),
    NotOurs,
    Unreadable(io::Error),
}

pub(super) fn check_gz(cand: &Path, m: &Mark) -> GzCheck {
    let file = match open_nonblocking(cand) {
        Ok((f, meta)) if meta.is_file() => f,
        Ok(_) => return GzCheck::NotOurs,
        Err(e) => return GzCheck::Unreadable(e),
    };
    let mut dec = flate2::read::MultiGzDecoder::new(file);
    let start = m.offset.saturating_sub(FINGERPRINT_LEN);
    match io::copy(&mut (&mut dec).take(start), &mut io::sink()) {
        Ok(n) if n < start => return GzCheck::NotOurs,
        Ok(_) => {}
        Err(e) => return GzCheck::Unreadable(e),
    }
    // read_to_end tells a clean, short end (not ours) from a corrupt stream (an error).
    let want = m.offset - start;
    let mut before = Vec::with_capacity(want as usize);
    match (&mut dec).take(want).read_to_end(&mut before) {
        Ok(n) if n as u64 == want && fnv1a(&before) == m.fp => GzCheck::Ours(Box::new(dec)),
        Ok(_) => GzCheck::NotOurs,
        Err(e) => GzCheck::Unreadable(e),
    }
}

/// An open generation, standing where reading it is to start.
pub(super) enum OpenGen {
    Plain { file: File, meta: Metadata },
    Gz(Box<flate2::read::MultiGzDecoder<File>>),
}

/// Where a saved position was found among a log's rotated generations.
pub(super) struct FoundGen {
    /// Its index in `generations`, newest (0) first.
    pub(super) index: usize,
    pub(super) opened: OpenGen,
}

/// Opens a log or one of its generations to read, never waiting: with
/// `O_NONBLOCK` a FIFO at the name opens at once (a plain open waits for a
/// writer, forever, while the run holds the state's lock). What was opened
/// is then looked at through the handle (fstat), so nothing can be swapped
/// in between; reading a regular file is not changed by the flag.
pub(super) fn open_nonblocking(path: &Path) -> io::Result<(File, Metadata)> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    Ok((file, meta))
}

/// What a log that is not a regular file is, in words.
pub(super) fn kind_of(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    match () {
        _ if t.is_dir() => "a directory",
        _ if t.is_fifo() => "a FIFO",
        _ if t.is_char_device() => "a character device",
        _ if t.is_block_device() => "a block device",
        _ if t.is_socket() => "a socket",
        _ => "not a regular file",
    }
}

/// A log must be a regular file: a FIFO would block the run, a device or a
/// folder has no lines to keep a position in.
pub(super) fn regular(path: &Path, opened: (File, Metadata)) -> Result<(File, Metadata)> {
    if !opened.1.is_file() {
        anyhow::bail!(
            "log {} is {}, not a regular file; name the log file itself",
            path.display(),
            kind_of(&opened.1)
        );
    }
    Ok(opened)
}

pub(super) fn open_plain(path: &Path) -> Option<(File, Metadata)> {
    open_nonblocking(path)
        .ok()
        .filter(|(_, meta)| meta.is_file())
}

/// Finds the generation that holds `m`: first by identity (a renamed file),
/// then, with something read before, by the fingerprint of its bytes before
/// the offset (a copy: copytruncate's, or a gzip). Newest first, so a
/// rotated copy is preferred to an older copy of a copy. A compressed
/// generation that cannot be decompressed is remembered for the warning.
pub(super) fn locate(
    gens: &[Gen],
    m: &Mark,
    unreadable: &mut Option<(PathBuf, io::Error)>,
) -> Option<FoundGen> {
    for (index, g) in gens.iter().enumerate().filter(|(_, g)| !g.gz) {
        if let Some((file, meta)) = open_plain(&g.path)
            && same_file(&meta, m)
            && still_ours(&file, &meta, m).unwrap_or(false)
        {
            return Some(FoundGen {
                index,
                opened: OpenGen::Plain { file, meta },
            });
        }
    }
    // With nothing read before (offset 0) no copy can be told to be ours:
    // taking another day's file would count it twice.
    if m.offset == 0 {
        return None;
    }
    let mut gz_left = GZ_CANDIDATES;
    for (index, g) in gens.iter().enumerate() {
        if !g.gz {
            if let Some((file, meta)) = open_plain(&g.path)
                && still_ours(&file, &meta, m).unwrap_or(false)
            {
                return Some(FoundGen {
                    index,
                    opened: OpenGen::Plain { file, meta },
                });
            }
            continue;
        }
        if gz_left == 0 {
            continue;
        }
        gz_left -= 1;
        match check_gz(&g.path, m) {
            GzCheck::Ours(dec) => {
                return Some(FoundGen {
                    index,
                    opened: OpenGen::Gz(dec),
                });
            }
            GzCheck::NotOurs => {}
            GzCheck::Unreadable(e) => {
                unreadable.get_or_insert((g.path.clone(), e));
            }
        }
    }
    None
}
