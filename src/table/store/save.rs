//! The save protocol, in one place: how a save appends (a chunk of the
//! attackers changed, a head, a trailer) or ticks, or rewrites the whole
//! file, in which order it syncs, and what the table holds once it is
//! committed. The head's body is the caller's (`Headed`): the state.

use std::fs::{self, File};
use std::io::{self, Seek, Write};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use super::super::{Table, ip_order};
use super::{
    ChunkWritten, HeadRef, Meta, Opened, PREFIX, Placed, Plan, SameHead, Val, write_chunk,
};
use super::{write_head, write_tick, write_trailer};
use crate::atomic::write_atomically;
use crate::clock::Secs;

/// What a save writes as its head: something that holds the table, whose
/// serialization (the table's through `Table: Serialize`) is the head's body.
pub trait Headed: serde::Serialize {
    fn table(&mut self) -> &mut Table;
}

/// How a save went: a head was written, or only a tick after the one in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrote {
    Head,
    Tick,
}

/// Why a save failed: working out its tick, or writing the file.
#[derive(Debug)]
pub enum SaveError {
    Tick(io::Error),
    Write(io::Error),
}

/// Saves `s` to `path`: appends to the file loaded when it is still that
/// one, ours alone and not due for compaction (`Store::plan`), else
/// rewrites it. On an append `tick` is asked for the text of a tick to
/// write instead of a head (`None`: write a head).
pub fn save<S: Headed>(
    path: &Path,
    s: &mut S,
    tick: impl FnOnce(&mut S) -> io::Result<Option<Vec<u8>>>,
) -> Result<Wrote, SaveError> {
    let wrote = match s.table().stored.plan(path) {
        Plan::Append(file) => match tick(s).map_err(SaveError::Tick)? {
            Some(text) => s.table().tick(file, &text).map(|()| Wrote::Tick),
            None => append(s, file).map(|()| Wrote::Head),
        },
        Plan::Rewrite => rewrite(path, s).map(|()| Wrote::Head),
    };
    wrote.map_err(SaveError::Write)
}

/// Writes the head's body: the state without its attackers.
fn head_body<S: Headed, W: Write>(s: &S, w: &mut super::Summed<'_, W>) -> io::Result<()> {
    Ok(serde_json::to_writer(w, s)?)
}

/// The new parts after the old trailer, synced, then the trailer that
/// names them, synced: cut short anywhere, the old trailer is the last whole one.
fn append<S: Headed>(s: &mut S, mut file: File) -> io::Result<()> {
    let at = s.table().append_at();
    file.seek(io::SeekFrom::Start(at))?;
    let mut w = Placed::new(io::BufWriter::with_capacity(1 << 16, &file), at);
    let chunk = s.table().write_changes(&mut w)?;
    let staged = s.table().stage(chunk.as_ref(), false);
    let mut written = || {
        let head = write_head(&mut w, |w| head_body(&*s, w))?;
        w.flush()?;
        file.sync_data()?;
        crate::fault::point("save:synced");
        let end = write_trailer(&mut w, head)?;
        w.flush()?;
        file.set_len(w.at)?;
        file.sync_all()?;
        Ok::<_, io::Error>((head, end))
    };
    match written() {
        Ok((head, end)) => {
            crate::fault::point("save:committed");
            s.table().committed(chunk, false, None, head, end);
            Ok(())
        }
        Err(e) => {
            s.table().unstage(staged);
            Err(e)
        }
    }
}

/// The whole file anew: every attacker in one chunk, a head and a trailer.
fn rewrite<S: Headed>(path: &Path, s: &mut S) -> io::Result<()> {
    let mut done = None;
    let mut staged = None;
    let result = write_atomically(path, 0o600, |w| {
        let mut w = Placed::new(w, 0);
        let chunk = s.table().write_everything(&mut w)?;
        staged = Some(s.table().stage(Some(&chunk), true));
        let head = write_head(&mut w, |w| head_body(&*s, w))?;
        let end = write_trailer(&mut w, head)?;
        done = Some((chunk, head, end));
        Ok(())
    });
    // Format 3 kept the previous state under this name between runs.
    let mut old = path.as_os_str().to_os_string();
    old.push(".tmp");
    let _ = fs::remove_file(old);
    let reopened = result.and_then(|()| {
        use std::os::unix::fs::OpenOptionsExt;
        fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
    });
    match (reopened, done) {
        (Ok(file), Some((chunk, head, end))) => {
            crate::fault::point("save:committed");
            s.table()
                .committed(Some(chunk), true, Some(Arc::new(file)), head, end);
            Ok(())
        }
        (Err(e), _) => {
            if let Some(staged) = staged {
                s.table().unstage(staged);
            }
            Err(e)
        }
        (Ok(_), None) => Err(io::Error::other("the state was not written")),
    }
}

impl Table {
    /// Appends a tick and a trailer that names the head in force again,
    /// synced in that order.
    fn tick(&mut self, mut file: File, text: &[u8]) -> io::Result<()> {
        let head = self
            .head_ref()
            .ok_or_else(|| io::Error::other("no head to tick after"))?;
        let at = self.append_at();
        file.seek(io::SeekFrom::Start(at))?;
        let mut w = Placed::new(io::BufWriter::new(&file), at);
        let end = write_tick(&mut w, text, head, |w| {
            w.flush()?;
            file.sync_data()?;
            crate::fault::point("save:synced");
            Ok(())
        })?;
        w.flush()?;
        file.set_len(w.at)?;
        file.sync_all()?;
        crate::fault::point("save:committed");
        self.ticked(end);
        Ok(())
    }
}

/// What a save stages while it writes: the store's meta before it.
pub struct Staged(Meta);

impl Table {
    /// Opens the stored attackers of a format 4 file whose head this table was read from.
    pub fn attach(&mut self, opened: &Opened) -> Result<(), String> {
        self.stored.attach(opened)
    }

    /// Writes the attackers changed since the last save as a chunk, or
    /// nothing when there are none.
    pub(super) fn write_changes<W: Write>(
        &self,
        w: &mut Placed<W>,
    ) -> io::Result<Option<ChunkWritten>> {
        if self.attackers.is_empty() {
            return Ok(None);
        }
        let mut touched: Vec<_> = self.attackers.iter().collect();
        touched.sort_unstable_by_key(|(ip, _)| ip_order(ip));
        w.write_all(b",\n")?;
        let n = touched.len();
        write_chunk(w, touched.into_iter().map(|(ip, a)| (*ip, Val::Mem(a))), n).map(Some)
    }

    /// Writes every attacker, stored and in memory, as one chunk.
    pub(super) fn write_everything<W: Write>(&self, w: &mut Placed<W>) -> io::Result<ChunkWritten> {
        let mut touched: Vec<_> = self.attackers.iter().collect();
        touched.sort_unstable_by_key(|(ip, _)| ip_order(ip));
        // The stored ones come through `scan` in address order: the two are merged.
        let expected = self.stored.count_upper() as usize + touched.len();
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(IpAddr, Vec<u8>, Secs)>>(4);
        std::thread::scope(|scope| {
            let store = &self.stored;
            let attackers = &self.attackers;
            let reader = scope.spawn(move || {
                let mut batch = Vec::with_capacity(1024);
                store.scan(
                    |ip| attackers.contains_key(ip),
                    |ip, head, _, json| {
                        batch.push((ip, json.to_vec(), head.last()));
                        if batch.len() == 1024 {
                            let _ = tx.send(std::mem::take(&mut batch));
                        }
                    },
                );
                let _ = tx.send(batch);
            });
            let stored = rx.into_iter().flatten();
            let mut stored = stored.peekable();
            let mut touched = touched.into_iter().peekable();
            let mut records = std::iter::from_fn(|| {
                let take_touched = match (stored.peek(), touched.peek()) {
                    (None, None) => return None,
                    (Some(_), None) => false,
                    (None, Some(_)) => true,
                    (Some((s, _, _)), Some((t, _))) => ip_order(t) < ip_order(s),
                };
                Some(if take_touched {
                    let (ip, a) = touched.next().expect("peeked");
                    (*ip, Val::Mem(a))
                } else {
                    let (ip, json, last) = stored.next().expect("peeked");
                    (ip, Val::Raw(json, last))
                })
            });
            let out = w
                .write_all(PREFIX)
                .and_then(|()| write_chunk(w, &mut records, expected));
            // Drained, so that the reading thread is never left blocked on a full channel.
            records.for_each(drop);
            reader.join().expect("the reading thread does not panic");
            out
        })
    }

    /// Puts the meta that includes `chunk` in place for the head to be
    /// written; `rewrite` says it holds every attacker.
    pub(super) fn stage(&mut self, chunk: Option<&ChunkWritten>, rewrite: bool) -> Staged {
        let meta = match (chunk, rewrite) {
            (Some(c), true) => self.stored.meta_after_rewrite(c),
            (Some(c), false) => {
                let fresh = self.fresh() as u64;
                let dead = self.taken.values().sum();
                self.stored.meta_after_append(c, fresh, dead)
            }
            (None, _) => Meta {
                dead: self.stored.dead_after_new_head(),
                ..self.stored.meta().clone()
            },
        };
        Staged(std::mem::replace(self.stored_meta_mut(), meta))
    }

    /// Puts the meta back after a save that failed.
    pub(super) fn unstage(&mut self, staged: Staged) {
        self.stored.set_meta(staged.0);
    }

    fn stored_meta_mut(&mut self) -> &mut Meta {
        &mut self.stored.meta
    }

    /// After a save is committed: the attackers are in the file now at
    /// `file`, with the head at `head`, whose trailer ends at `end`.
    pub(super) fn committed(
        &mut self,
        chunk: Option<ChunkWritten>,
        rewrite: bool,
        file: Option<Arc<File>>,
        head: HeadRef,
        end: u64,
    ) {
        let meta = self.stored.meta().clone();
        self.stored.committed(meta, chunk, rewrite, file, head, end);
        self.attackers.clear();
        self.taken.clear();
    }

    /// Where an append starts.
    pub(super) fn append_at(&self) -> u64 {
        self.stored.end()
    }

    /// The head part in force, if the state was loaded from or saved to a file.
    pub fn head_ref(&self) -> Option<HeadRef> {
        self.stored.head_ref()
    }

    /// A writer that tells whether what it is given is the head in force's body.
    pub fn same_head(&self) -> Option<SameHead<'_>> {
        self.stored.same_head()
    }

    /// After a tick that ends at `end` was committed.
    pub(super) fn ticked(&mut self, end: u64) {
        self.stored.ticked(end);
    }

    /// When attackers are forgotten (see `forget_idle`); saved in the head, or in a tick.
    pub fn forgotten_before(&self) -> Option<Secs> {
        self.stored.meta().before
    }

    /// Sets what `forgotten_before` says; returns what it said.
    pub fn set_forgotten_before(&mut self, before: Option<Secs>) -> Option<Secs> {
        std::mem::replace(&mut self.stored.meta.before, before)
    }

    /// Whether no attacker changed since the last save.
    pub fn unchanged(&self) -> bool {
        self.attackers.is_empty()
    }
}
