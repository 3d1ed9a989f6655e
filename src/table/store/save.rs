//! The table's part of a save: the attackers it writes as chunks, the
//! store's meta staged for the head, and what it holds once committed.

use std::fs::File;
use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::Arc;

use super::super::{Table, ip_order};
use super::{
    ChunkWritten, HeadRef, Meta, Opened, PREFIX, Placed, Plan, SameHead, Val, write_chunk,
};
use crate::clock::Secs;

/// What a save stages while it writes: the store's meta before it.
pub struct Staged(Meta);

impl Table {
    /// Opens the stored attackers of a format 4 file whose head this table was read from.
    pub fn attach(&mut self, opened: &Opened) -> Result<(), String> {
        self.stored.attach(opened)
    }

    /// How the next save goes (see `Store::plan`).
    pub fn plan_save(&self, path: &std::path::Path) -> Plan {
        self.stored.plan(path)
    }

    /// Writes the attackers changed since the last save as a chunk, or
    /// nothing when there are none.
    pub fn write_changes<W: Write>(&self, w: &mut Placed<W>) -> io::Result<Option<ChunkWritten>> {
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
    pub fn write_everything<W: Write>(&self, w: &mut Placed<W>) -> io::Result<ChunkWritten> {
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
    pub fn stage(&mut self, chunk: Option<&ChunkWritten>, rewrite: bool) -> Staged {
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
    pub fn unstage(&mut self, staged: Staged) {
        self.stored.set_meta(staged.0);
    }

    fn stored_meta_mut(&mut self) -> &mut Meta {
        &mut self.stored.meta
    }

    /// After a save is committed: the attackers are in the file now at
    /// `file`, with the head at `head`, whose trailer ends at `end`.
    pub fn committed(
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
    pub fn append_at(&self) -> u64 {
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
    pub fn ticked(&mut self, end: u64) {
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
