//! The state file: versioned, locked for the whole run, saved all or nothing.
//! What the head holds (this `State`) and a tick's text are this module's;
//! how the file is laid out and written (chunks, heads, ticks, trailers, the
//! order of the syncs) is `table::store`'s business (`store::save`).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::atomic::parent_of;
use crate::clock::Secs;
use crate::sink::{Pending, SinkBook};
use crate::source::LogPos;
use crate::table::{Headed, SaveError, Table, Wrote};

/// Bumped whenever an older binary could not read what a newer one writes.
pub const VERSION: u32 = 4;

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
    /// Lasting conditions already said on stderr (see `notice::once`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub notes: crate::notice::Notes,
    /// Addresses (or networks, by their first address) that `site remove`
    /// took down: no sink ever publishes them again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub removed: BTreeMap<IpAddr, Removal>,
    /// IndexNow's bookkeeping: when it may be sent to again, and why not.
    #[serde(default, skip_serializing_if = "is_default")]
    pub indexnow: crate::sink::indexnow::Book,
    /// The last `run` that saved this state, for `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<RunRecord>,
    /// What the file says, to tell a save that changes only the run's
    /// record from one that changes more. Not part of the state's value.
    #[serde(skip)]
    pub saved: Saved,
}

/// The run record and forgetting time that the head in force holds (its
/// ticks may say newer ones): a save whose head would be that one but for
/// those two writes a tick, not a head (see `save`).
#[derive(Debug, Clone, Default)]
pub struct Saved {
    run: Option<RunRecord>,
    before: Option<Secs>,
}

/// What is saved, not what the state is: two states are equal whatever
/// files they came from.
impl PartialEq for Saved {
    fn eq(&self, _: &Saved) -> bool {
        true
    }
}

fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}

/// Why and when `site remove` took an attacker down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removal {
    /// The address or network, as its page named it.
    pub source: String,
    pub reason: String,
    pub at: Secs,
}

/// When a run started and ended, and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub started: Secs,
    pub ended: Secs,
    /// Posts accepted by the sinks in that run.
    #[serde(default)]
    pub posted: u64,
    /// Its error line, when it failed: reading a source, or posting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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
            notes: BTreeMap::new(),
            removed: BTreeMap::new(),
            indexnow: Default::default(),
            last_run: None,
            saved: Saved::default(),
        }
    }
}

/// Loads the state. A missing file is an empty state; anything unreadable
/// or corrupt is an error that names the file, which is left as it is.
///
/// Format 4 is read from its end: the head, then each chunk's index; the
/// attackers' blocks are read (and checked) only when needed. Formats 1–3
/// are read whole, and the next save writes format 4.
///
/// For a reader, which does not hold the lock: see `load_as`.
pub fn load(path: &Path) -> Result<State> {
    load_as(path, None)
}

/// `load`, by the holder of `path`'s lock when `held` is it: a run that
/// finds its own state cut short says so; a reader (`show`, a dry run)
/// says so only when no other run holds the lock (see `another_run_saving`).
pub fn load_as(path: &Path, held: Option<&StateLock>) -> Result<State> {
    use std::os::unix::fs::OpenOptionsExt;
    // Never through a link (see `safe_fs::refuse_link`), and never waiting
    // on a FIFO at the name.
    let opened = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path);
    let mut file = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(State::default()),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(crate::safe_fs::linked_state(path));
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read state file {}", path.display()));
        }
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        anyhow::bail!("state file {} is not a regular file", path.display());
    }
    let mut start = vec![0; crate::table::PREFIX.len()];
    let n = read_up_to(&mut file, &mut start).with_context(|| cannot_read(path))?;
    if start[..n] == *crate::table::PREFIX {
        return load_stored(path, file, held);
    }
    let mut bytes = start[..n].to_vec();
    file.read_to_end(&mut bytes)
        .with_context(|| cannot_read(path))?;
    load_whole(path, bytes)
}

fn cannot_read(path: &Path) -> String {
    format!("cannot read state file {}", path.display())
}

fn corrupt(path: &Path) -> String {
    format!(
        "state file {} is corrupt (left untouched; move it away to start afresh)",
        path.display()
    )
}

fn newer(path: &Path, version: u32) -> anyhow::Error {
    anyhow::anyhow!(
        "state file {} has format version {version}, newer than this tweet-attacks understands ({VERSION})",
        path.display()
    )
}

/// Format 4: the head, its tick if the last save was one, and the stored
/// attackers' indexes (see `table::store`).
fn load_stored(path: &Path, file: File, held: Option<&StateLock>) -> Result<State> {
    let corrupt = || corrupt(path);
    let opened = crate::table::open_stored(file)
        .map_err(|e| anyhow::anyhow!(e))
        .with_context(corrupt)?;
    let mut st: State = serde_json::from_slice(&opened.head).with_context(corrupt)?;
    if st.version > VERSION {
        return Err(newer(path, st.version));
    }
    st.saved = Saved {
        run: st.last_run.clone(),
        before: st.table.forgotten_before(),
    };
    if let Some(tick) = &opened.tick {
        let (run, before) = read_tick(tick).with_context(corrupt)?;
        st.last_run = Some(run);
        st.table.set_forgotten_before(before);
    }
    st.table
        .attach(&opened)
        .map_err(|e| anyhow::anyhow!(e))
        .with_context(corrupt)?;
    // A reader (`show`, a dry run) that finds another run holding the
    // lock is looking at its save in progress, not at one cut short.
    if opened.torn && (held.is_some() || !another_run_saving(path)) {
        crate::notice::warn(format_args!(
            "state file {}: its last save was cut short; read the one before it (those lines are read again)",
            path.display()
        ));
    }
    Ok(st)
}

/// Formats 1 to 3, read whole; an older one is written back as this one.
fn load_whole(path: &Path, bytes: Vec<u8>) -> Result<State> {
    // UTF-8 is checked once for the whole file, not string by string.
    let text = String::from_utf8(bytes).with_context(|| corrupt(path))?;
    match serde_json::from_str::<State>(&text) {
        Ok(st) if st.version > VERSION => Err(newer(path, st.version)),
        Ok(st) => Ok(State {
            version: VERSION,
            ..st
        }),
        Err(e) => {
            #[derive(Deserialize)]
            struct Versioned {
                version: u32,
            }
            match serde_json::from_str::<Versioned>(&text) {
                Ok(v) if v.version > VERSION => Err(newer(path, v.version)),
                _ => Err(anyhow::Error::new(e).context(corrupt(path))),
            }
        }
    }
}

/// For the commands that need a state: missing is "has `run` run yet?".
/// The name itself is looked at: a link to nothing is refused (by `load`)
/// as a link, not taken for a missing state.
pub fn must_exist(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => anyhow::bail!(
            "no state file at {} (has `tweet-attacks run` run yet?)",
            path.display()
        ),
        _ => Ok(()),
    }
}

/// Reads until `buf` is full or the file ends; how many bytes it holds.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Saves the state; only the lock holder writes. How it is written, and
/// in what order it is synced, is `table::store`'s business (`store::save`):
/// usually the attackers changed since the last save and a new head are
/// appended, or just a tick when nothing but the run's record changed; the
/// file is rewritten atomically when it is new, migrated, due for
/// compaction, or not the one loaded.
pub fn save(path: &Path, state: &mut State) -> Result<()> {
    let context = || {
        format!(
            "cannot save state file {} (the previous state is intact)",
            path.display()
        )
    };
    check(path, state)?;
    state.version = VERSION;
    match crate::table::save(path, state, tick_of) {
        Ok(Wrote::Head) => {
            saved_head(state);
            Ok(())
        }
        Ok(Wrote::Tick) => Ok(()),
        Err(SaveError::Tick(e)) => Err(e.into()),
        Err(SaveError::Write(e)) => Err(e).with_context(context),
    }
}

impl Headed for State {
    fn table(&mut self) -> &mut Table {
        &mut self.table
    }
}

/// A tick's text: the run's record and the forgetting time, `[started,
/// seconds, before]`, then `posted` and `error` when it has them.
fn tick_text(run: &RunRecord, before: Option<Secs>) -> io::Result<Vec<u8>> {
    let mut v = vec![
        serde_json::json!(run.started),
        serde_json::json!(run.ended - run.started),
        serde_json::json!(before),
    ];
    if run.posted > 0 || run.error.is_some() {
        v.push(serde_json::json!(run.posted));
    }
    if let Some(e) = &run.error {
        v.push(serde_json::json!(e));
    }
    Ok(serde_json::to_vec(&v)?)
}

/// The run's record and forgetting time a tick's text holds.
fn read_tick(text: &[u8]) -> Result<(RunRecord, Option<Secs>)> {
    #[derive(Deserialize)]
    struct Tick(
        Secs,
        Secs,
        Option<Secs>,
        #[serde(default)] u64,
        #[serde(default)] Option<String>,
    );
    let Tick(started, secs, before, posted, error) = serde_json::from_slice(text)?;
    let run = RunRecord {
        started,
        ended: started.saturating_add(secs),
        posted,
        error,
    };
    Ok((run, before))
}

/// The tick to write instead of a head, if this save changes nothing but
/// the run's record and the forgetting time (`Saved`): a run that read
/// nothing new appends a few dozen bytes, however many connections are open
/// or announcements wait.
fn tick_of(state: &mut State) -> io::Result<Option<Vec<u8>>> {
    let Some(run) = state.last_run.clone() else {
        return Ok(None);
    };
    if !state.table.unchanged() || state.table.head_ref().is_none() {
        return Ok(None);
    }
    // The head this save would write, with what the head in force says of those two.
    let before = state.table.set_forgotten_before(state.saved.before);
    state.last_run = state.saved.run.clone();
    let same = match state.table.same_head() {
        Some(same) => {
            let mut w = io::BufWriter::with_capacity(1 << 16, same);
            serde_json::to_writer(&mut w, &*state)
                .map_err(io::Error::from)
                .and_then(|()| w.into_inner().map_err(|e| e.into_error()))
                .map(|same| same.same())
        }
        None => Ok(false),
    };
    state.last_run = Some(run.clone());
    state.table.set_forgotten_before(before);
    match same? {
        true => tick_text(&run, before).map(Some),
        false => Ok(None),
    }
}

/// After a head was written: it is the one in force.
fn saved_head(state: &mut State) {
    state.saved = Saved {
        run: state.last_run.clone(),
        before: state.table.forgotten_before(),
    };
}

/// Fails if reading the stored attackers met a corrupt block: what was
/// shown from this state is not all of it.
pub fn check(path: &Path, state: &State) -> Result<()> {
    match state.table.fault() {
        None => Ok(()),
        Some(fault) => anyhow::bail!(
            "state file {} is corrupt: {fault} (left untouched; move it away to start afresh)",
            path.display()
        ),
    }
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

/// Whether another process holds `path`'s lock now, and so may be saving.
/// The lock file is only looked at: opened to read, never created, never
/// through a link, and never waited on (a FIFO in its place does not block).
fn another_run_saving(path: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    let Ok(f) = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(sibling(path, ".lock"))
    else {
        return false;
    };
    matches!(f.try_lock_shared(), Err(fs::TryLockError::WouldBlock))
}

/// Takes the state's lock (`STATE.lock`, beside the path as given, which
/// must not be a link), waiting up to `wait` for a run in progress. The
/// state's folder must be private (see `safe_fs`): the run writes, renames
/// and reuses names in it.
pub fn lock(path: &Path, wait: Duration) -> Result<StateLock> {
    // Before anything is created: a link is refused, not locked beside.
    crate::safe_fs::refuse_link(path)?;
    let lock_path = sibling(path, ".lock");
    let dir = parent_of(path);
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create state folder {}", dir.display()))?;
    crate::safe_fs::check_private_folder(dir, "state folder")?;
    let file = crate::safe_fs::open_lock(&lock_path)?;
    let deadline = Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => {
                return Ok(StateLock { _file: file });
            }
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
    use std::os::unix::fs::PermissionsExt;

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
                born: 5,
                seen: 6,
                prev: None,
            },
        );
        record(&mut s, CONN, 100);
        s.next_batch = 7;
        save(&path, &mut s).unwrap();
        let back = load(&path).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.table.len(), 1, "the attacker came back");
        assert!(!sibling(&path, ".tmp").exists());
    }

    const CONN: &str = "Nov 26 00:00:03 web01 sshd[3504]: Failed password for invalid user admin from 203.0.113.5 port 17641 ssh2";

    fn record(s: &mut State, line: &str, t: Secs) {
        s.table
            .record(&crate::parse::parse(line.as_bytes()).unwrap(), t);
    }

    /// Every attacker of a format 4 file as JSON, the newest record of each.
    fn attackers_in(path: &Path) -> serde_json::Map<String, serde_json::Value> {
        let v: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
        let mut all = serde_json::Map::new();
        for part in v["parts"].as_array().unwrap() {
            if let Some(a) = part["attackers"].as_object() {
                all.extend(a.clone());
            }
        }
        all
    }

    #[test]
    fn saves_append_in_place_and_the_file_stays_one_json_document() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut s = State::default();
        record(&mut s, CONN, 100);
        save(&path, &mut s).unwrap();
        let inode = fs::metadata(&path).unwrap().ino();
        let mut sizes = vec![fs::metadata(&path).unwrap().len()];
        for n in 0..3u64 {
            let mut s = load(&path).unwrap();
            record(
                &mut s,
                &CONN.replace("[3504]", &format!("[{n}]")),
                200 + n as Secs,
            );
            s.next_batch = n;
            save(&path, &mut s).unwrap();
            assert_eq!(
                fs::metadata(&path).unwrap().ino(),
                inode,
                "appended, not replaced"
            );
            sizes.push(fs::metadata(&path).unwrap().len());
        }
        assert!(sizes.is_sorted(), "{sizes:?}");
        let mut s = load(&path).unwrap();
        assert_eq!(s.next_batch, 2);
        let a = s.table.get_mut(&"203.0.113.5".parse().unwrap()).unwrap();
        assert_eq!((a.tries(), a.last), (4, 202));
        // Any JSON reader reads it; the newest record of the address wins.
        let all = attackers_in(&path);
        assert_eq!(all["203.0.113.5"][0], 4);
        let v: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["version"], VERSION);
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn the_file_is_compacted_after_many_chunks_and_a_day_of_forgetting() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let inode = || fs::metadata(&path).unwrap().ino();
        let parts = || attackers_parts(&path);
        let mut s = State::default();
        record(&mut s, CONN, 100);
        save(&path, &mut s).unwrap();
        let first = inode();
        // One chunk per save that changed an attacker, until there are too many.
        let mut rewrote_at = None;
        for n in 0..60u32 {
            let mut s = load(&path).unwrap();
            let line = CONN.replace("203.0.113.5", &format!("198.51.{}.{}", n / 200, n % 200));
            record(&mut s, &line, 200 + Secs::from(n));
            save(&path, &mut s).unwrap();
            if inode() != first && rewrote_at.is_none() {
                rewrote_at = Some((n, parts()));
            }
        }
        let (n, chunks) = rewrote_at.expect("compacted");
        assert_eq!(
            (n, chunks),
            (47, 1),
            "the save after the 48th chunk compacts"
        );
        assert_eq!(load(&path).unwrap().table.len(), 61);
        // The first forgetting compacts (nothing is idle yet)...
        let mut s = load(&path).unwrap();
        s.table.forget_idle(50, &[]);
        save(&path, &mut s).unwrap();
        // ...then an idle attacker is forgotten at once, and dropped from the file a day later.
        let mut s = load(&path).unwrap();
        s.table.forget_idle(150, &[]);
        save(&path, &mut s).unwrap();
        assert_eq!(
            load(&path).unwrap().table.len(),
            60,
            "203.0.113.5 is forgotten"
        );
        assert!(
            attackers_in(&path).contains_key("203.0.113.5"),
            "but still in the file"
        );
        let before = inode();
        let mut s = load(&path).unwrap();
        s.table.forget_idle(150 + 2 * 86_400, &[]);
        save(&path, &mut s).unwrap();
        assert_ne!(inode(), before, "compacted");
        assert!(
            attackers_in(&path).is_empty(),
            "all idle for a day: gone from the file"
        );
    }

    /// How many attacker chunks a format 4 file holds.
    fn attackers_parts(path: &Path) -> usize {
        let v: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
        v["parts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p.get("attackers").is_some())
            .count()
    }

    /// The run's record `run` at `t`.
    fn ran(s: &mut State, t: Secs) {
        s.last_run = Some(RunRecord {
            started: t,
            ended: t + 1,
            posted: 0,
            error: None,
        });
    }

    #[test]
    fn a_save_that_changes_only_the_runs_record_appends_a_tick_not_a_head() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let size = || fs::metadata(&path).unwrap().len();
        let mut s = State::default();
        // An open connection and an attacker: what a head holds.
        record(&mut s, CONN, 100);
        ran(&mut s, 100);
        save(&path, &mut s).unwrap();
        let whole = size();
        for n in 1..=100 {
            let mut s = load(&path).unwrap();
            assert_eq!(s.last_run.as_ref().unwrap().started, 100 + n - 1);
            ran(&mut s, 100 + n);
            s.table.forget_idle(50 + n, &[]);
            save(&path, &mut s).unwrap();
        }
        let grown = size() - whole;
        assert!(grown < 100 * 150, "{grown} bytes for 100 idle saves");
        let mut s = load(&path).unwrap();
        assert_eq!(
            s.last_run,
            Some(RunRecord {
                started: 200,
                ended: 201,
                posted: 0,
                error: None
            })
        );
        assert_eq!(s.table.forgotten_before(), Some(150));
        assert_eq!(s.table.open_conns(), 1);
        // A failed run's error is said in its tick too.
        s.last_run.as_mut().unwrap().error = Some("x: refused \"\n".into());
        save(&path, &mut s).unwrap();
        let mut back = load(&path).unwrap();
        assert_eq!(back.last_run, s.last_run);
        // Any JSON reader still reads the file.
        let v: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert!(v["parts"].as_array().unwrap().len() > 100);
        // A change writes a head again.
        let before = size();
        back.next_batch = 9;
        save(&path, &mut back).unwrap();
        assert!(size() > before + 150);
        assert_eq!(load(&path).unwrap().next_batch, 9);
    }

    #[test]
    fn a_tick_cut_short_leaves_the_save_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut s = State::default();
        record(&mut s, CONN, 100);
        ran(&mut s, 100);
        save(&path, &mut s).unwrap();
        let whole = fs::read(&path).unwrap();
        ran(&mut s, 200);
        save(&path, &mut s).unwrap();
        let after = fs::read(&path).unwrap();
        assert!(after.len() < whole.len() + 150, "a tick");
        let grown = &after[whole.len() - 4..];
        for cut in 0..grown.len() - 4 {
            let mut torn = whole[..whole.len() - 4].to_vec();
            torn.extend_from_slice(&grown[..cut]);
            fs::write(&path, &torn).unwrap();
            let s = load(&path).unwrap_or_else(|e| panic!("cut {cut}: {e:#}"));
            assert_eq!(s.last_run.unwrap().started, 100, "cut {cut}");
        }
        // A tick whose bytes changed is corruption, not a save cut short.
        let bad = String::from_utf8(after).unwrap().replace("[200,", "[201,");
        fs::write(&path, &bad).unwrap();
        let err = format!("{:#}", load(&path).unwrap_err());
        assert!(err.contains("tick") && err.contains("checksum"), "{err}");
    }

    #[test]
    fn old_heads_and_ticks_are_dead_at_their_real_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut s = State::default();
        for pid in 0..50 {
            record(&mut s, &CONN.replace("[3504]", &format!("[{pid}]")), 100);
        }
        ran(&mut s, 100);
        save(&path, &mut s).unwrap();
        let mut s = load(&path).unwrap();
        ran(&mut s, 101);
        save(&path, &mut s).unwrap();
        // From the old head's `,\n` to the end of the last trailer: the head,
        // its trailer, the tick and its trailer.
        let text = fs::read(&path).unwrap();
        let old_head = text.windows(8).position(|w| w == b"{\"head\":").unwrap();
        let end = text.len() as u64 - 4;
        let mut s = load(&path).unwrap();
        record(&mut s, &CONN.replace("[3504]", "[99]"), 102);
        save(&path, &mut s).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        let heads: Vec<_> = v["parts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p.get("head"))
            .collect();
        assert_eq!(heads.len(), 2);
        // And the attacker's old record, of some 60 bytes.
        let dead = heads[1]["table"]["store"]["dead"].as_u64().unwrap();
        let heads_and_ticks = end - (old_head as u64 - 2);
        assert!(
            (heads_and_ticks..heads_and_ticks + 100).contains(&dead),
            "{dead} dead, {heads_and_ticks} of old head, trailers and tick"
        );
        assert!(
            heads_and_ticks > 50 * 60,
            "the old head held 50 connections"
        );
    }

    #[test]
    fn a_save_cut_short_leaves_the_one_before_it_readable_and_the_next_save_mends_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut s = State::default();
        record(&mut s, CONN, 100);
        save(&path, &mut s).unwrap();
        let whole = fs::read(&path).unwrap();
        let mut s = load(&path).unwrap();
        record(&mut s, &CONN.replace("[3504]", "[9]"), 200);
        s.next_batch = 7;
        save(&path, &mut s).unwrap();
        let after = fs::read(&path).unwrap();
        assert!(after.len() > whole.len() + 100);
        // Every cut of the second save's bytes: the first state, never a mix.
        let grown = &after[whole.len() - 4..];
        for cut in [
            0,
            1,
            3,
            4,
            10,
            grown.len() / 2,
            grown.len() - 80,
            grown.len() - 5,
        ] {
            let mut torn = whole[..whole.len() - 4].to_vec();
            torn.extend_from_slice(&grown[..cut]);
            fs::write(&path, &torn).unwrap();
            let mut s = load(&path).unwrap_or_else(|e| panic!("cut {cut}: {e:#}"));
            assert_eq!(s.next_batch, 0, "cut {cut}");
            let a = s.table.get_mut(&"203.0.113.5".parse().unwrap()).unwrap();
            assert_eq!(a.tries(), 1, "cut {cut}");
            // The next save writes over what was cut short.
            record(&mut s, &CONN.replace("[3504]", "[11]"), 300);
            save(&path, &mut s).unwrap();
            let v: serde_json::Value =
                serde_json::from_slice(&fs::read(&path).unwrap()).expect("whole JSON again");
            assert!(v["parts"].is_array());
            let mut s = load(&path).unwrap();
            let a = s.table.get_mut(&"203.0.113.5".parse().unwrap()).unwrap();
            assert_eq!(a.tries(), 2, "cut {cut}");
        }
    }

    #[test]
    fn a_corrupt_last_head_is_refused_not_taken_for_a_save_cut_short() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut s = State::default();
        record(&mut s, CONN, 100);
        save(&path, &mut s).unwrap();
        let mut s = load(&path).unwrap();
        s.next_batch = 7;
        save(&path, &mut s).unwrap();
        // A byte of the newest head changes; the older head and trailer are whole.
        let text = fs::read_to_string(&path).unwrap();
        let at = text.rfind("\"next_batch\":7").unwrap();
        let bad = format!("{}8{}", &text[..at + 13], &text[at + 14..]);
        fs::write(&path, &bad).unwrap();
        let err = format!("{:#}", load(&path).unwrap_err());
        assert!(
            err.contains("is corrupt") && err.contains("fails its checksum"),
            "{err}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), bad, "left untouched");
    }

    #[test]
    fn a_corrupt_block_is_found_when_read_and_the_state_is_not_saved_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut s = State::default();
        record(&mut s, CONN, 100);
        save(&path, &mut s).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let bad = text.replacen("[\"admin\"]", "[\"admiN\"]", 1);
        assert_ne!(bad, text);
        fs::write(&path, &bad).unwrap();
        let mut s = load(&path).expect("the head and index are whole");
        record(&mut s, &CONN.replace("[3504]", "[9]"), 200);
        let err = format!("{:#}", save(&path, &mut s).unwrap_err());
        assert!(
            err.contains("is corrupt") && err.contains("checksum"),
            "{err}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), bad, "left untouched");
    }

    #[test]
    fn format_2_is_read_whole_and_written_back_as_format_4() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        // Hand-written: spaces, an escaped name, addresses out of order.
        let idle = r#"[ 5, 1,100,200,["r\"oot", "\u00e9"],["web01"] ]"#;
        fs::write(
            &path,
            format!(
                r#"{{"version":2,"table":{{"attackers":{{"203.0.113.5":[1,1,100,100,["admin"],["web01"]],"198.51.100.7":{idle}}}}}}}"#
            ),
        )
        .unwrap();
        let mut s = load(&path).unwrap();
        assert_eq!(s.table.len(), 2);
        record(&mut s, CONN, 300);
        save(&path, &mut s).unwrap();
        let saved = fs::read_to_string(&path).unwrap();
        assert!(saved.starts_with("{\"version\":4,\"parts\":[\n"), "{saved}");
        assert!(
            saved.contains(r#"{"attackers":{"198.51.100.7":[5,1,100,200,["r\"oot","é"],["web01"]],"203.0.113.5":[2,1,100,300,["admin"],["web01"]]}}"#),
            "{saved}"
        );
        let mut again = load(&path).unwrap();
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
    fn format_1_is_read_and_written_back_as_format_4() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(
            &path,
            r#"{"version":1,"table":{"attackers":{"203.0.113.5":{"ssh":7,"u":["root"],"um":2,"s":1,"f":10,"l":20,"a":15,"h":["web01"]},"198.51.100.7":{"ftf":3,"ftp":4,"s":2,"f":1,"l":2}},"conns":[]}}"#,
        )
        .unwrap();
        let mut s = load(&path).unwrap();
        save(&path, &mut s).unwrap();
        assert_eq!(
            serde_json::Value::Object(attackers_in(&path)),
            serde_json::json!({
                "198.51.100.7": [0, 2, 1, 2, [], [], 3, 4],
                "203.0.113.5": [7, 1, 10, 20, ["root"], ["web01"], 0, 0, 15, 2],
            })
        );
    }

    #[test]
    fn a_bad_attacker_is_refused_at_load() {
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
            let err = format!("{:#}", load(&path).unwrap_err());
            assert!(err.contains("is corrupt"), "{bad}: {err}");
        }
        fs::write(&path, b"{\"version\":2,\"journal_cursor\":\"\xff\"}").unwrap();
        let err = format!("{:#}", load(&path).unwrap_err());
        assert!(err.contains("is corrupt"), "{err}");
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
        // Format 4 with no whole trailer anywhere.
        fs::write(&path, b"{\"version\":4,\"parts\":[\n{\"head\":{}}\n]}\n").unwrap();
        let err = format!("{:#}", load(&path).unwrap_err());
        assert!(err.contains("state.json is corrupt"), "{err}");
    }

    #[test]
    fn save_failure_names_the_path_and_keeps_the_old_state() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, b"not a folder").unwrap();
        let path = blocker.join("state.json");
        let err = format!("{:#}", save(&path, &mut State::default()).unwrap_err());
        assert!(err.contains("file/state.json"), "{err}");

        // An old state, under a name so long that no temp file can be made
        // beside it (".NAME.XXXXXX.tmp" is over 255 bytes), root or not.
        let path = dir.path().join("s".repeat(250));
        let mut old = State::default();
        record(&mut old, CONN, 100);
        save(&dir.path().join("old.json"), &mut old).unwrap();
        fs::rename(dir.path().join("old.json"), &path).unwrap();
        let before = fs::read(&path).unwrap();
        let mut new = State::default();
        record(&mut new, &CONN.replace("203.0.113.5", "198.51.100.9"), 200);
        let err = format!("{:#}", save(&path, &mut new).unwrap_err());
        assert!(
            err.contains(&"s".repeat(250)) && err.contains("the previous state is intact"),
            "{err}"
        );
        assert_eq!(
            fs::read(&path).unwrap(),
            before,
            "the old state, byte for byte"
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2, "no temp file");
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
