//! The state file: versioned, locked for the whole run, saved all or nothing.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Seek, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::clock::Secs;
use crate::sink::{Pending, SinkBook};
use crate::source::LogPos;
use crate::table::Table;

/// Bumped whenever an older binary could not read what a newer one writes.
pub const VERSION: u32 = 3;

/// `'a` is the text of the state file it was loaded from (see `Table`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State<'a> {
    pub version: u32,
    /// Read positions, by log path.
    #[serde(default)]
    pub logs: BTreeMap<String, LogPos>,
    #[serde(default, borrow)]
    pub table: Table<'a>,
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
    /// Lasting conditions already said on stderr (see `notice::once`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub notes: crate::notice::Notes,
    /// The last `run` that saved this state, for `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<RunRecord>,
}

/// When a run started and ended, and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub started: Secs,
    pub ended: Secs,
    /// Posts accepted by the sinks in that run.
    #[serde(default)]
    pub posted: u64,
    /// Its error line, when it failed after reading the logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Default for State<'_> {
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
            notes: BTreeMap::new(),
            last_run: None,
        }
    }
}

/// Loads the state. A missing file is an empty state; anything unreadable
/// or corrupt is an error that names the file, which is left as it is.
/// `text` receives the file's text, which the state borrows from.
pub fn load<'a>(path: &Path, text: &'a mut String) -> Result<State<'a>> {
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
    // UTF-8 is checked once for the whole file, not string by string.
    *text = String::from_utf8(bytes).with_context(corrupt)?;
    let text = text.as_str();
    // One parse in the common case: a large table makes parsing the run's main cost.
    match serde_json::from_str::<State>(text) {
        Ok(st) if st.version > VERSION => Err(newer(st.version)),
        // An older format is read as it is and written back as this one.
        Ok(st) => Ok(State {
            version: VERSION,
            ..st
        }),
        Err(e) => {
            #[derive(Deserialize)]
            struct Versioned {
                version: u32,
            }
            match serde_json::from_str::<Versioned>(text) {
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

/// Replaces `path` all at once: writes a temp file beside it, fsyncs it,
/// renames it over `path`, fsyncs the folder. A kill at any point leaves the
/// old file or the new one, never a mix.
///
/// The temp file has an unpredictable name and is created with `O_EXCL`
/// (the tempfile crate), so nothing planted at a name we would open is ever
/// written through.
///
/// With `keep_tmp` (a suffix), the replaced file is kept under `path` +
/// suffix instead of being deleted, and the next call writes over its
/// blocks: a 10 MB state is then never freed and allocated again, which on a
/// filesystem mounted with `discard` costs 15 ms per save. That name is
/// predictable, so it is reused only when it opens without following a link
/// and is a regular file of ours with no other name (`safe_fs::open_reusable`);
/// the caller must also keep others from writing the folder
/// (`safe_fs::check_private_folder`). Otherwise a fresh temp file is used.
pub fn write_atomically(
    path: &Path,
    mode: u32,
    keep_tmp: Option<&str>,
    // A concrete writer, not `dyn Write`: serde_json makes ten small writes
    // per attacker, each a virtual call through `dyn`.
    fill: impl FnOnce(&mut io::BufWriter<&mut File>) -> io::Result<()>,
) -> io::Result<()> {
    let kept = keep_tmp.map(|suffix| sibling(path, suffix));
    let (mut f, temp) = match kept.as_deref().and_then(crate::safe_fs::open_reusable) {
        Some(f) => (f, Temp::Kept(kept.clone().expect("a kept name"))),
        None => {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let (f, temp) = tempfile::Builder::new()
                .prefix(&format!(".{name}."))
                .suffix(".tmp")
                .permissions(fs::Permissions::from_mode(mode))
                .tempfile_in(parent_of(path))?
                .into_parts();
            (f, Temp::Fresh(temp))
        }
    };
    let write = |f: &mut File| -> io::Result<()> {
        let mut w = io::BufWriter::with_capacity(1 << 20, &mut *f);
        fill(&mut w)?;
        w.flush()?;
        drop(w);
        let len = f.stream_position()?;
        f.set_len(len)?;
        // On the handle: the umask and whatever mode a kept file had do not count.
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.sync_all()?;
        crate::fault::point("save:synced");
        Ok(())
    };
    if let Err(e) = write(&mut f) {
        if let Temp::Kept(p) = &temp {
            let _ = fs::remove_file(p);
        }
        return Err(e);
    }
    drop(f);
    // The old file keeps a second name across the rename, so that the
    // rename does not free it; then it takes the kept temp name.
    let old = sibling(path, ".old");
    let keep_old = kept.is_some() && {
        let _ = fs::remove_file(&old);
        fs::hard_link(path, &old).is_ok()
    };
    match temp {
        Temp::Kept(p) => fs::rename(&p, path).inspect_err(|_| {
            let _ = fs::remove_file(&p);
        })?,
        Temp::Fresh(t) => t.persist(path).map_err(|e| e.error)?,
    }
    crate::fault::point("save:renamed");
    if let (true, Some(kept)) = (keep_old, &kept) {
        // The new file is in place: failing here only costs the next
        // save a fresh temp file (and `old` is removed then).
        let _ = fs::rename(&old, kept);
    }
    File::open(parent_of(path))?.sync_all()
}

/// The file a save writes before renaming it into place.
enum Temp {
    /// The previous state's file, under its kept name.
    Kept(PathBuf),
    /// A new file, deleted if the save fails.
    Fresh(tempfile::TempPath),
}

/// Saves the state atomically (see `write_atomically`); only the lock holder writes.
pub fn save(path: &Path, state: &State) -> Result<()> {
    write_atomically(path, 0o600, Some(".tmp"), |w| {
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

/// Takes the state's lock (`STATE.lock`), waiting up to `wait` for a run in
/// progress. The state's folder must be private (see `safe_fs`): the run
/// writes, renames and reuses names in it.
pub fn lock(path: &Path, wait: Duration) -> Result<StateLock> {
    let lock_path = sibling(path, ".lock");
    let dir = parent_of(path);
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create state folder {}", dir.display()))?;
    crate::safe_fs::check_private_folder(dir, "state folder")?;
    let file = crate::safe_fs::open_lock(&lock_path)?;
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
        let mut text = String::new();
        let mut s = load(&path, &mut text).unwrap();
        assert_eq!(s, State::default());
        s.logs.insert(
            "/var/log/auth.log".into(),
            LogPos {
                offset: 10,
                inode: 2,
                dev: 3,
                fp: 4,
                born: 5,
                seen: 6,
                prev: None,
            },
        );
        save(&path, &s).unwrap();
        assert_eq!(load(&path, &mut String::new()).unwrap(), s);
        assert!(!sibling(&path, ".tmp").exists());
    }

    #[test]
    fn saves_alternate_between_two_files_and_keep_the_previous_state() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let tmp = sibling(&path, ".tmp");
        let inode = |p: &Path| fs::metadata(p).unwrap().ino();
        let mut s = State::default();
        let mut inodes = Vec::new();
        for n in 0..4u64 {
            s.next_batch = n;
            save(&path, &s).unwrap();
            inodes.push(inode(&path));
            if n > 0 {
                let text = fs::read_to_string(&tmp).unwrap();
                let previous: State = serde_json::from_str(&text).unwrap();
                assert_eq!(
                    previous.next_batch,
                    n - 1,
                    "the temp file holds the previous state"
                );
            }
        }
        assert_eq!(
            (inodes[0], inodes[1]),
            (inodes[2], inodes[3]),
            "two files, written over in turn"
        );
        assert_ne!(inodes[0], inodes[1]);
        assert!(!sibling(&path, ".old").exists());
        let mode = fs::metadata(&tmp).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    const CONN: &str = "Nov 26 00:00:03 web01 sshd[3504]: Failed password for invalid user admin from 203.0.113.5 port 17641 ssh2";

    #[test]
    fn untouched_attackers_are_written_back_as_read_and_touched_ones_anew() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        // Hand-written, in the layout of format 2 but not as serde_json
        // would write it: spaces, an escaped name, addresses out of order.
        let idle = r#"[ 5, 1,100,200,["r\"oot", "\u00e9"],["web01"] ]"#;
        fs::write(
            &path,
            format!(
                r#"{{"version":2,"table":{{"attackers":{{"203.0.113.5":[1,1,100,100,["admin"],["web01"]],"198.51.100.7":{idle}}}}}}}"#
            ),
        )
        .unwrap();
        let mut text = String::new();
        let mut s = load(&path, &mut text).unwrap();
        assert_eq!(s.table.len(), 2);
        s.table
            .record(&crate::parse::parse(CONN.as_bytes()).unwrap(), 300);
        save(&path, &s).unwrap();
        let saved = fs::read_to_string(&path).unwrap();
        // Format 2 is format 3 without networks: read as it is, saved as 3.
        assert!(saved.starts_with(r#"{"version":3,"#), "{saved}");
        assert!(
            saved.contains(&format!(
                r#"{{"198.51.100.7":{idle},"203.0.113.5":[2,1,100,300,["admin"],["web01"]]}}"#
            )),
            "{saved}"
        );
        let mut text = String::new();
        let mut again = load(&path, &mut text).unwrap();
        let a = again
            .table
            .get_mut(&"198.51.100.7".parse().unwrap())
            .unwrap();
        assert_eq!(
            (a.tries(), &a.users[..]),
            (5, &["r\"oot".to_string(), "é".to_string()][..])
        );
    }

    #[test]
    fn format_1_is_read_and_written_back_as_format_2() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(
            &path,
            r#"{"version":1,"table":{"attackers":{"203.0.113.5":{"ssh":7,"u":["root"],"um":2,"s":1,"f":10,"l":20,"a":15,"h":["web01"]},"198.51.100.7":{"ftf":3,"ftp":4,"s":2,"f":1,"l":2}},"conns":[]}}"#,
        )
        .unwrap();
        let mut text = String::new();
        let s = load(&path, &mut text).unwrap();
        save(&path, &s).unwrap();
        let saved: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(saved["version"], VERSION);
        assert_eq!(
            saved["table"]["attackers"],
            serde_json::json!({
                "198.51.100.7": [0, 2, 1, 2, [], [], 3, 4],
                "203.0.113.5": [7, 1, 10, 20, ["root"], ["web01"], 0, 0, 15, 2],
            })
        );
    }

    #[test]
    fn a_bad_attacker_is_refused_at_load_by_address() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        for bad in [
            r#"[1,1,100,100,["admin",7],[]]"#,
            r#"[-1,1,100,100,[],[]]"#,
            r#"[1,256,100,100,[],[]]"#,
            r#"[1,1,100,100,[],[],0,0,null,0,9]"#,
            r#"[1,1,100]"#,
            r#"[1,1,1e3,100,[],[]]"#,
            r#"[1,1,100,100,[],[],0,0,"x"]"#,
        ] {
            fs::write(
                &path,
                format!(r#"{{"version":2,"table":{{"attackers":{{"203.0.113.5":{bad}}}}}}}"#),
            )
            .unwrap();
            let err = format!("{:#}", load(&path, &mut String::new()).unwrap_err());
            assert!(
                err.contains("is corrupt") && err.contains("attacker 203.0.113.5"),
                "{bad}: {err}"
            );
        }
        fs::write(&path, b"{\"version\":2,\"journal_cursor\":\"\xff\"}").unwrap();
        let err = format!("{:#}", load(&path, &mut String::new()).unwrap_err());
        assert!(err.contains("is corrupt"), "{err}");
    }

    #[test]
    fn corrupt_or_newer_state_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(&path, b"{\"version\": 1, \"logs\": ").unwrap();
        let err = format!("{:#}", load(&path, &mut String::new()).unwrap_err());
        assert!(err.contains("state.json is corrupt"), "{err}");
        fs::write(&path, b"{\"version\": 99}").unwrap();
        let err = format!("{:#}", load(&path, &mut String::new()).unwrap_err());
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
