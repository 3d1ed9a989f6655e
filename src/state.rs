//! The state file: versioned, locked for the whole run, saved all or nothing.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::publish::{Pending, SinkBook};
use crate::source::LogPos;
use crate::table::Table;

/// Bumped whenever an older binary could not read what a newer one writes.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// Read positions, by log path.
    #[serde(default)]
    pub logs: BTreeMap<String, LogPos>,
    #[serde(default)]
    pub table: Table,
    /// Announcements not yet accepted by every sink. Saved before posting.
    #[serde(default)]
    pub outbox: Vec<Pending>,
    /// Where the journal source stopped (journald's cursor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal_cursor: Option<String>,
    /// The switch to the journal has been announced once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub journal_noted: bool,
    /// The next outbox batch number.
    #[serde(default)]
    pub next_batch: u64,
    /// Per-sink bookkeeping (budgets, rate-limit resets), by sink name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sinks: BTreeMap<String, SinkBook>,
}

impl Default for State {
    fn default() -> Self {
        State {
            version: VERSION,
            logs: BTreeMap::new(),
            table: Table::default(),
            outbox: Vec::new(),
            journal_cursor: None,
            journal_noted: false,
            next_batch: 0,
            sinks: BTreeMap::new(),
        }
    }
}

/// Loads the state. A missing file is an empty state; anything unreadable
/// or corrupt is an error that names the file, which is left as it is.
pub fn load(path: &Path) -> Result<State> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(State::default()),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read state file {}", path.display()));
        }
    };
    let corrupt = || {
        format!(
            "state file {} is corrupt (left untouched; move it away to start afresh)",
            path.display()
        )
    };
    let newer = |version: u32| {
        anyhow::anyhow!(
            "state file {} has format version {version}, newer than this tweet-attacks understands ({VERSION})",
            path.display()
        )
    };
    // One parse in the common case: a large table makes parsing the run's main cost.
    match serde_json::from_slice::<State>(&bytes) {
        Ok(st) if st.version > VERSION => Err(newer(st.version)),
        Ok(st) => Ok(st),
        Err(e) => {
            #[derive(Deserialize)]
            struct Versioned {
                version: u32,
            }
            match serde_json::from_slice::<Versioned>(&bytes) {
                Ok(v) if v.version > VERSION => Err(newer(v.version)),
                _ => Err(anyhow::Error::new(e).context(corrupt())),
            }
        }
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Replaces `path` all at once: writes a temp file beside it (`path` +
/// `tmp_suffix`), fsyncs it, renames it over `path`, fsyncs the folder.
/// A kill at any point leaves the old file or the new one, never a mix.
pub fn write_atomically(
    path: &Path,
    tmp_suffix: &str,
    mode: u32,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let tmp = sibling(path, tmp_suffix);
    let write = || -> io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        let mut w = io::BufWriter::with_capacity(1 << 20, &mut f);
        fill(&mut w)?;
        w.flush()?;
        drop(w);
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(parent_of(path))?.sync_all()
    };
    write().inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

/// Saves the state atomically (see `write_atomically`); only the lock holder writes.
pub fn save(path: &Path, state: &State) -> Result<()> {
    write_atomically(path, ".tmp", 0o600, |w| {
        serde_json::to_writer(&mut *w, state)?;
        w.write_all(b"\n")
    })
    .with_context(|| {
        format!(
            "cannot save state file {} (the previous state is intact)",
            path.display()
        )
    })
}

/// Another run holds the lock: a temporary condition (exit status 75).
#[derive(Debug)]
pub struct LockBusy(pub PathBuf);

impl std::fmt::Display for LockBusy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "another tweet-attacks run holds the lock {}; try again later",
            self.0.display()
        )
    }
}

impl std::error::Error for LockBusy {}

/// Held for the whole run; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

/// Takes the state's lock (`STATE.lock`), waiting up to `wait` for a run in progress.
pub fn lock(path: &Path, wait: Duration) -> Result<StateLock> {
    let lock_path = sibling(path, ".lock");
    let dir = parent_of(path);
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create state folder {}", dir.display()))?;
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&lock_path)
        .with_context(|| format!("cannot open lock file {}", lock_path.display()))?;
    let deadline = Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(StateLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(fs::TryLockError::WouldBlock) => return Err(LockBusy(lock_path).into()),
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", lock_path.display()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_is_empty_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut s = load(&path).unwrap();
        assert_eq!(s, State::default());
        s.logs.insert(
            "/var/log/auth.log".into(),
            LogPos {
                offset: 10,
                inode: 2,
                dev: 3,
                fp: 4,
            },
        );
        save(&path, &s).unwrap();
        assert_eq!(load(&path).unwrap(), s);
        assert!(!sibling(&path, ".tmp").exists());
    }

    #[test]
    fn corrupt_or_newer_state_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(&path, b"{\"version\": 1, \"logs\": ").unwrap();
        let err = format!("{:#}", load(&path).unwrap_err());
        assert!(err.contains("state.json is corrupt"), "{err}");
        fs::write(&path, b"{\"version\": 99}").unwrap();
        let err = format!("{:#}", load(&path).unwrap_err());
        assert!(err.contains("format version 99"), "{err}");
    }

    #[test]
    fn save_failure_names_the_path_and_keeps_the_old_state() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, b"not a folder").unwrap();
        let path = blocker.join("state.json");
        let err = format!("{:#}", save(&path, &State::default()).unwrap_err());
        assert!(err.contains("file/state.json"), "{err}");
    }

    #[test]
    fn the_lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let held = lock(&path, Duration::ZERO).unwrap();
        let err = lock(&path, Duration::from_millis(120)).unwrap_err();
        assert!(err.downcast_ref::<LockBusy>().is_some());
        drop(held);
        lock(&path, Duration::ZERO).unwrap();
    }
}
