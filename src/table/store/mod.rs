//! Where the attackers live between runs (state format 4): in the state
//! file itself, as chunks that are written once and then only read.
//!
//! The file is one JSON document that only grows between compactions:
//!
//! ```text
//! {"version":4,"parts":[
//! {"attackers":{"192.0.2.7":[…],"198.51.100.2":[…],…}},   a chunk, sorted by address
//! {"index":"…","bloom":"…"},                              its block index and Bloom filter
//! {"head":{…the rest of the state…}},
//! {"at":"…","len":"…","sum":"…"}                          the trailer: where the head is
//! ]}
//! ```
//!
//! A run reads the trailer, the head and the indexes, then only the blocks
//! (32 attackers) that hold an address it meets. Its save appends a chunk
//! of the attackers it changed, a new head and a new trailer where the old
//! `]}` was, and a record there supersedes the same address in an older
//! chunk. So a run costs what it read and changed, not the table's size.
//! A save that changed nothing but the run's own record appends a tick
//! (`{"tick":…}`, a few dozen bytes) and a trailer that names the same
//! head: an idle run does not write again a head that holds a burst's
//! open connections.
//!
//! All or nothing: the new parts are written and synced before the trailer
//! that names them, and the trailer is synced before the run goes on. A
//! save cut short leaves the old trailer in place with parts after it that
//! no trailer names; loading finds the last whole trailer (`recover`).
//!
//! Checked on the way: the head by its trailer's sum, each index by the sum
//! its chunk's entry in the head keeps, each block by the sum in its index
//! entry, when it is read (not at load, which would read the whole file). A
//! block that fails is a corrupt state: the run's save refuses to write.
//!
//! Forgetting is lazy: an attacker idle since `Meta::before` is treated as
//! absent wherever it is read, and left out when the file is compacted, a
//! full rewrite (temp file and rename) when dead bytes (superseded records,
//! old heads, trailers and ticks, at their real size) pass a quarter of
//! the file, the chunks pass `MAX_CHUNKS`, a day's worth expired, or the
//! table is over `--max-attackers`.

use std::fs::File;
use std::net::IpAddr;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use super::head::{Head, read_head};
use super::{Attacker, ip_order};
use crate::clock::Secs;

mod block;
mod bloom;
mod chunk;
mod frame;
mod hex;
mod save;
mod table_serde;

use block::{Rec, parse_records};
pub use chunk::ChunkWritten;
use chunk::{BlockRef, Chunk, ChunkMeta, load_chunk};
pub(super) use chunk::{Val, write_chunk};
use frame::HEAD_START;
pub use frame::{
    HeadRef, Opened, PREFIX, Placed, SameHead, Summed, open, write_head, write_tick, write_trailer,
};
pub use save::{Headed, SaveError, Wrote, save};

/// The checksum of a block, an index or a head: CRC-32, SIMD-fast (a cron
/// run checks a few MB of index and a block per address it meets).
fn sum(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// A table key in address order (see `ip_order`).
pub(super) type Key = (bool, u128);

/// Records per block: a lookup reads one block, about 2 KB.
const BLOCK: usize = 32;

/// More chunks than this and the file is compacted: each costs a lookup a probe.
const MAX_CHUNKS: usize = 48;

/// Dead bytes below this never make a save compact: a small file may be mostly dead.
const MIN_DEAD: u64 = 1 << 20;
/// What the head keeps of the store, saved with the rest of the state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    #[serde(default)]
    chunks: Vec<ChunkMeta>,
    /// Attackers held, counting those already idle past `before`: at least the true count.
    #[serde(default)]
    count: u64,
    /// Bytes of superseded records and of old heads and trailers.
    #[serde(default)]
    dead: u64,
    /// Attackers last seen before this are forgotten (unless `kept`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    before: Option<Secs>,
    /// Idle attackers kept anyway: those waiting in the outbox.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    kept: Vec<IpAddr>,
    /// `before` when the file was last compacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    compacted: Option<Secs>,
}
/// Where a record's array is in the file.
#[derive(Debug, Clone, Copy)]
pub(super) struct Loc {
    pub at: u64,
    pub len: u32,
}

/// The stored attackers of a state file, and the rules that forget them.
#[derive(Debug, Clone, Default)]
pub(super) struct Store {
    file: Option<Arc<File>>,
    /// The file's device and inode, and the offset just past its trailer.
    id: (u64, u64),
    end: u64,
    /// The head part in force. What lies between its trailer and `end` is
    /// ticks and the trailers after them; all of it is dead once a new
    /// head is written.
    head: HeadRef,
    chunks: Vec<Chunk>,
    meta: Meta,
    /// Forgets, besides `before`, every attacker at or under this (last
    /// seen, key): `--max-attackers`. Never saved: the next save compacts.
    cut: Option<(Secs, Key)>,
    cut_kept: Vec<IpAddr>,
    /// The format 1–3 file it was migrated from, or a cut: the next save rewrites the file.
    rewrite: bool,
    /// The first block that could not be read: the state is corrupt.
    fault: OnceLock<String>,
}
impl Store {
    /// Nothing stored.
    pub(super) fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// At least the number of attackers stored, and at most that plus those
    /// idle past `before` and not yet compacted away.
    pub(super) fn count_upper(&self) -> u64 {
        self.meta.count
    }

    /// Whether an attacker whose newest record says `last` is forgotten.
    fn forgotten(&self, key: Key, last: Secs) -> bool {
        let idle = self.meta.before.is_some_and(|b| last < b) && !self.is_kept(key);
        let cut = self.cut.is_some_and(|cut| (last, key) <= cut)
            && self.cut_kept.binary_search_by_key(&key, ip_order).is_err();
        idle || cut
    }

    /// Whether `key` is kept though idle: a binary search, since the
    /// outbox may hold as many addresses as the table.
    fn is_kept(&self, key: Key) -> bool {
        self.meta.kept.binary_search_by_key(&key, ip_order).is_ok()
    }

    /// Forgets attackers last seen before `cutoff`, except `keep`.
    pub(super) fn forget_before(&mut self, cutoff: Secs, keep: &[IpAddr]) {
        self.meta.before = Some(self.meta.before.map_or(cutoff, |b| b.max(cutoff)));
        self.meta.kept = keep.to_vec();
        self.meta.kept.sort_unstable_by_key(ip_order);
        self.meta.kept.dedup();
    }

    /// Also forgets every attacker at or under `cut` (last seen, key), except the kept.
    pub(super) fn cut(&mut self, cut: (Secs, Key), keep: &[IpAddr]) {
        self.cut = Some(self.cut.map_or(cut, |c| c.max(cut)));
        self.cut_kept = keep.to_vec();
        self.cut_kept.sort_unstable_by_key(ip_order);
        self.rewrite = true;
    }

    /// Records the first read failure; reads that fail see nothing.
    fn failed(&self, what: String) {
        let _ = self.fault.set(what);
    }

    /// The first read failure, if any: a corrupt (or changed) state file.
    pub(super) fn fault(&self) -> Option<String> {
        self.fault.get().cloned()
    }

    /// One block's records, read and checked.
    fn read_block(&self, b: &BlockRef, buf: &mut Vec<u8>, recs: &mut Vec<Rec>) -> bool {
        let Some(file) = &self.file else { return false };
        buf.resize(b.len as usize, 0);
        if let Err(e) = file.read_exact_at(buf, b.at) {
            self.failed(format!("cannot read the block at byte {}: {e}", b.at));
            return false;
        }
        if sum(buf) != b.sum {
            self.failed(format!("the block at byte {} fails its checksum", b.at));
            return false;
        }
        recs.clear();
        if parse_records(buf, recs).is_none() {
            self.failed(format!(
                "the block at byte {} is not a list of attackers",
                b.at
            ));
            return false;
        }
        true
    }

    /// The newest record of `ip`, if it is held and not forgotten: the
    /// attacker, and how many bytes its record takes (dead once it is written anew).
    pub(super) fn find(&self, ip: &IpAddr) -> Option<(Attacker, u64)> {
        let key = ip_order(ip);
        let kept = self.is_kept(key);
        let (mut buf, mut recs) = (Vec::new(), Vec::new());
        for chunk in self.chunks.iter().rev() {
            let idle = self.meta.before.is_some_and(|b| chunk.meta.last < b);
            if (idle && !kept) || !chunk.bloom.may_hold(key) {
                continue;
            }
            let i = chunk.blocks.partition_point(|b| b.key <= key);
            let Some(block) = i.checked_sub(1).map(|i| &chunk.blocks[i]) else {
                continue;
            };
            if !self.read_block(block, &mut buf, &mut recs) {
                return None;
            }
            let Some(r) = recs.iter().find(|r| r.key == key) else {
                continue;
            };
            let json = &buf[r.val.clone()];
            let Ok(a) = serde_json::from_slice::<Attacker>(json) else {
                self.failed(format!("attacker {ip} at byte {} is unreadable", block.at));
                return None;
            };
            if self.forgotten(key, a.last) {
                return None;
            }
            return Some((a, (r.val.end - r.val.start) as u64 + 24));
        }
        None
    }

    /// Hands `f` every attacker held and not forgotten, in address order,
    /// with its head and place; `skip` says which are held in memory
    /// instead. One block per chunk is in memory at a time.
    pub(super) fn scan(
        &self,
        skip: impl Fn(&IpAddr) -> bool,
        mut f: impl FnMut(IpAddr, &Head, Loc, &[u8]),
    ) {
        struct Cur<'s> {
            chunk: &'s Chunk,
            block: usize,
            buf: Vec<u8>,
            recs: Vec<Rec>,
            i: usize,
        }
        let mut curs: Vec<Cur> = Vec::with_capacity(self.chunks.len());
        for chunk in &self.chunks {
            curs.push(Cur {
                chunk,
                block: 0,
                buf: Vec::new(),
                recs: Vec::new(),
                i: 0,
            });
        }
        // Each cursor at its next record, reading blocks as they run out.
        let advance = |c: &mut Cur| -> bool {
            while c.i >= c.recs.len() {
                let Some(b) = c.chunk.blocks.get(c.block) else {
                    return false;
                };
                c.block += 1;
                c.i = 0;
                if !self.read_block(b, &mut c.buf, &mut c.recs) {
                    c.block = c.chunk.blocks.len();
                    c.recs.clear();
                    return false;
                }
            }
            true
        };
        let mut live: Vec<usize> = Vec::new();
        for (n, c) in curs.iter_mut().enumerate() {
            if advance(c) {
                live.push(n);
            }
        }
        while !live.is_empty() {
            // The smallest key; of equal ones, the newest chunk's.
            let &newest = live
                .iter()
                .min_by_key(|&&n| (curs[n].recs[curs[n].i].key, std::cmp::Reverse(n)))
                .expect("not empty");
            let c = &curs[newest];
            let r = &c.recs[c.i];
            let (key, ip) = (r.key, r.ip);
            let json = &c.buf[r.val.clone()];
            let at = c.chunk.blocks[c.block - 1].at + r.start as u64;
            if !skip(&ip) {
                match read_head(json) {
                    Some(head) if !self.forgotten(key, head.last()) => {
                        let loc = Loc {
                            at,
                            len: (r.val.end - r.start) as u32,
                        };
                        f(ip, &head, loc, json);
                    }
                    Some(_) => {}
                    None => self.failed(format!("attacker {ip} at byte {at} is unreadable")),
                }
            }
            live.retain(|&n| {
                let c = &mut curs[n];
                if c.recs[c.i].key == key {
                    c.i += 1;
                    return advance(c);
                }
                true
            });
        }
    }

    /// The attacker whose record is at `loc` (from `scan`).
    pub(super) fn read_record(&self, loc: Loc) -> Option<(IpAddr, Attacker)> {
        let file = self.file.as_ref()?;
        let mut buf = vec![0; loc.len as usize];
        if let Err(e) = file.read_exact_at(&mut buf, loc.at) {
            self.failed(format!("cannot read the attacker at byte {}: {e}", loc.at));
            return None;
        }
        let mut recs = Vec::with_capacity(1);
        let read = parse_records(&buf, &mut recs)
            .and_then(|()| recs.first())
            .and_then(|r| Some((r.ip, serde_json::from_slice(&buf[r.val.clone()]).ok()?)));
        if read.is_none() {
            self.failed(format!("the attacker at byte {} is unreadable", loc.at));
        }
        read
    }

    /// Bytes of the file that no save reads again: superseded records, old
    /// heads and trailers, and the ticks after the head in force.
    fn dead(&self) -> u64 {
        self.meta.dead + self.end.saturating_sub(self.head.ticks_from())
    }

    /// The dead bytes once a new head replaces the one in force: it, its
    /// trailer and the ticks after it, at their real size.
    fn dead_after_new_head(&self) -> u64 {
        self.meta.dead + self.end.saturating_sub(self.head.from())
    }

    /// Whether the next save must rewrite the whole file rather than append to it.
    fn wants_rewrite(&self, file_len: u64) -> bool {
        let expired_a_day = match (self.meta.before, self.meta.compacted) {
            (Some(b), Some(c)) => b - c > 24 * 3600,
            (Some(_), None) => true,
            _ => false,
        };
        self.rewrite
            || self.file.is_none()
            || self.chunks.len() >= MAX_CHUNKS
            || (self.dead() > MIN_DEAD && self.dead() * 4 > file_len)
            || (expired_a_day && self.meta.count > 0)
    }
}
impl Store {
    /// The store of an opened file, with the meta its head holds.
    pub(super) fn attach(&mut self, opened: &Opened) -> Result<(), String> {
        let mut chunks = Vec::with_capacity(self.meta.chunks.len());
        for meta in &self.meta.chunks {
            if meta.index_at + meta.index_len > opened.end {
                return Err(format!(
                    "the index at byte {} is past the end",
                    meta.index_at
                ));
            }
            chunks.push(load_chunk(&opened.file, meta.clone())?);
        }
        self.chunks = chunks;
        self.file = Some(opened.file.clone());
        self.id = opened.id;
        self.end = opened.end;
        self.head = opened.head_ref;
        Ok(())
    }

    /// Marks the table loaded from format 1–3 as one to write in full.
    pub(super) fn migrated(&mut self) {
        self.rewrite = true;
    }
}

/// How a save goes: appended to the file, or the file rewritten.
pub enum Plan {
    Append(File),
    Rewrite,
}

impl Store {
    /// Appends when the file at `path` is still the one loaded, ours alone,
    /// and not due for compaction.
    pub(super) fn plan(&self, path: &std::path::Path) -> Plan {
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        let Some(loaded) = &self.file else {
            return Plan::Rewrite;
        };
        let Ok(len) = loaded.metadata().map(|m| m.len()) else {
            return Plan::Rewrite;
        };
        if self.wants_rewrite(len) {
            return Plan::Rewrite;
        }
        let Ok(f) = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
        else {
            return Plan::Rewrite;
        };
        match f.metadata() {
            Ok(m)
                if (m.dev(), m.ino()) == self.id
                    && m.is_file()
                    && m.nlink() == 1
                    && m.uid() == crate::safe_fs::euid() =>
            {
                Plan::Append(f)
            }
            _ => Plan::Rewrite,
        }
    }

    /// The meta to save after adding `chunk` by an append: `fresh` new
    /// attackers in it, `dead` bytes superseded by it.
    pub(super) fn meta_after_append(&self, chunk: &ChunkWritten, fresh: u64, dead: u64) -> Meta {
        let mut meta = self.meta.clone();
        meta.chunks.push(chunk.0.meta.clone());
        meta.count += fresh;
        meta.dead = self.dead_after_new_head() + dead;
        meta
    }

    /// The meta after a rewrite into `chunk`, which holds all `n` attackers.
    pub(super) fn meta_after_rewrite(&self, chunk: &ChunkWritten) -> Meta {
        Meta {
            chunks: vec![chunk.0.meta.clone()],
            count: chunk.0.meta.n,
            dead: 0,
            before: self.meta.before,
            kept: self.meta.kept.clone(),
            compacted: self.meta.before,
        }
    }

    /// After a save that committed `meta` (with `chunk`) and a head to the file now at `path`.
    pub(super) fn committed(
        &mut self,
        meta: Meta,
        chunk: Option<ChunkWritten>,
        rewrote: bool,
        file: Option<Arc<File>>,
        head: HeadRef,
        end: u64,
    ) {
        use std::os::unix::fs::MetadataExt;
        let Some(file) = file.or_else(|| self.file.clone()) else {
            return;
        };
        if rewrote {
            self.chunks.clear();
            self.cut = None;
            self.rewrite = false;
        }
        self.chunks.extend(chunk.map(|c| c.0));
        self.meta = meta;
        if let Ok(m) = file.metadata() {
            self.id = (m.dev(), m.ino());
        }
        self.file = Some(file);
        self.end = end;
        self.head = head;
    }

    /// After a tick was committed: the file ends at `end` now.
    pub(super) fn ticked(&mut self, end: u64) {
        self.end = end;
    }

    /// The head part in force, for a tick's trailer to name again.
    pub(super) fn head_ref(&self) -> Option<HeadRef> {
        self.file.as_ref().map(|_| self.head)
    }

    /// A writer that tells whether what it is given is the head in force's body.
    pub(super) fn same_head(&self) -> Option<SameHead<'_>> {
        let file = self.file.as_deref()?;
        let len = self.head.len.checked_sub(HEAD_START.len() as u64 + 1)?;
        let at = self.head.at + HEAD_START.len() as u64;
        Some(SameHead {
            file,
            at,
            end: at + len,
            same: true,
            scratch: Vec::new(),
        })
    }

    /// Where an append starts: just past the trailer.
    pub(super) fn end(&self) -> u64 {
        self.end
    }

    pub(super) fn meta(&self) -> &Meta {
        &self.meta
    }

    pub(super) fn set_meta(&mut self, meta: Meta) {
        self.meta = meta;
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{CONN, feed, ip};
    use super::super::{Standing, Table};
    use super::*;

    /// A table written to a file as a save rewrites it, and opened again:
    /// every attacker stored, none in memory.
    pub(in crate::table) fn reloaded(t: &Table) -> Table {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        let mut f = File::create(&path).unwrap();
        let mut t = t.clone();
        let mut w = Placed::new(&mut f, 0);
        let chunk = t.write_everything(&mut w).unwrap();
        t.stage(Some(&chunk), true);
        let head = write_head(&mut w, |w| Ok(serde_json::to_writer(w, &t)?)).unwrap();
        write_trailer(&mut w, head).unwrap();
        let _ = w;
        let opened = open(File::open(&path).unwrap()).unwrap();
        assert!(!opened.torn);
        let mut back: Table = serde_json::from_slice(&opened.head).unwrap();
        back.attach(&opened).unwrap();
        back.rules = t.rules;
        back
    }

    #[test]
    fn stored_attackers_are_read_only_when_touched_yet_count_everywhere() {
        let mut t = Table::default();
        let other = CONN[2].replace("203.0.113.5", "198.51.100.2");
        feed(&mut t, &[(CONN[2], 100), (CONN[3], 101), (&other, 50)]);
        t.get_mut(&ip("198.51.100.2")).unwrap().announced = Some(60);
        let mut t = reloaded(&t);
        assert!(t.attackers.is_empty());
        assert_eq!(t.len(), 2);
        let mut standings = Vec::new();
        t.for_each_standing(|s| standings.push(s));
        standings.sort_by_key(|s| s.tries);
        assert_eq!(
            standings,
            [
                Standing {
                    ip: ip("198.51.100.2"),
                    tries: 1,
                    announced: true,
                    last: None,
                },
                Standing {
                    ip: ip("203.0.113.5"),
                    tries: 2,
                    announced: false,
                    last: None,
                },
            ]
        );
        // A new guess reads its attacker in full, and only that one.
        feed(&mut t, &[(CONN[4], 200)]);
        assert_eq!(t.attackers.len(), 1);
        assert_eq!(t.attackers[&ip("203.0.113.5")].tries(), 3);
        assert_eq!(t.attackers[&ip("203.0.113.5")].users, ["admin"]);
        assert_eq!(t.len(), 2, "read, not copied");
        // Forgetting reaches the stored one.
        t.forget_idle(80, &[]);
        assert_eq!(t.len(), 1);
        assert!(t.get_mut(&ip("198.51.100.2")).is_none());
        // And what is written back reads as the same table.
        let again = reloaded(&t);
        assert_eq!(again, t);
        assert_eq!(again.len(), 1);
    }

    /// `n` attackers 10.0.0.0 + i, each with i tries; `bad` ones with a name that is no string.
    fn many(n: u32) -> Table {
        let mut t = Table::default();
        for i in 0..n {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            t.attackers.insert(
                ip,
                Attacker {
                    ssh_tries: u64::from(i),
                    first: 1,
                    last: i64::from(i),
                    users: vec!["root".into()],
                    ..Attacker::default()
                },
            );
        }
        t
    }

    #[test]
    fn an_attacker_read_then_forgotten_is_counted_once() {
        let mut t = reloaded(&many(100));
        t.get_mut(&"10.0.0.5".parse().unwrap()).unwrap();
        t.forget_idle(50, &[]);
        assert_eq!(t.fresh(), 0);
        assert_eq!(t.len_upper(), 100, "an upper bound until compacted");
        assert_eq!(t.len(), 50);
        let chunk = t.write_changes(&mut Placed::new(Vec::new(), 0)).unwrap();
        assert!(chunk.is_none(), "nothing left in memory to write");
        t.stage(None, false);
    }

    proptest::proptest! {
        /// Whatever names attackers choose, a stored table reads back as it was written.
        #[test]
        fn any_names_round_trip_through_the_blocks(
            names in proptest::collection::vec(proptest::prelude::any::<String>(), 1..80),
        ) {
            let mut t = Table::default();
            for (i, name) in names.iter().enumerate() {
                let ip = IpAddr::V4(std::net::Ipv4Addr::from(0xc000_0200 + i as u32 * 3));
                t.attackers.insert(ip, Attacker {
                    ssh_tries: 1,
                    first: 1,
                    last: 2,
                    users: vec![name.clone(), format!("{name}\"],")],
                    hosts: vec![name.clone()],
                    ..Attacker::default()
                });
            }
            let back = reloaded(&t);
            proptest::prop_assert!(back.fault().is_none());
            proptest::prop_assert_eq!(back.snapshot(), t.snapshot());
        }
    }

    #[test]
    fn a_large_table_is_found_at_every_block_edge() {
        let n = 3 * BLOCK as u32 * 40 + 5;
        let mut t = reloaded(&many(n));
        assert_eq!(t.len(), n as usize);
        let mut tries = 0;
        t.for_each_standing(|s| tries += s.tries);
        assert_eq!(tries, (0..u64::from(n)).sum::<u64>());
        let ip = |i: u32| IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
        let last = n - 1;
        for i in [0, 1, 31, 32, 33, 63, 64, 1000, last - 1, last] {
            assert_eq!(
                t.get_mut(&ip(i)).map(|a| a.tries()),
                Some(u64::from(i)),
                "{i}"
            );
        }
        assert!(t.get_mut(&ip(last + 1)).is_none());
        assert!(t.get_mut(&"9.255.255.255".parse().unwrap()).is_none());
        assert!(t.fault().is_none());
    }

    #[test]
    fn a_block_that_fails_its_sum_is_a_fault_not_an_absent_attacker() {
        let t = reloaded(&many(200));
        // Flip one byte of one block in the file under the loaded table.
        let file = t.stored.file.clone().unwrap();
        let b = t.stored.chunks[0].blocks[2];
        let mut byte = [0u8];
        file.read_exact_at(&mut byte, b.at + 5).unwrap();
        let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&*file));
        let w = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        w.write_all_at(&[byte[0] ^ 1], b.at + 5).unwrap();
        let mut t = t;
        assert!(
            t.get_mut(&"10.0.0.1".parse().unwrap()).is_some(),
            "another block"
        );
        assert!(t.fault().is_none());
        assert!(t.get_mut(&"10.0.0.70".parse().unwrap()).is_none());
        let fault = t.fault().expect("a fault");
        assert!(fault.contains("fails its checksum"), "{fault}");
    }

    #[test]
    fn each_ranked_reads_stored_and_touched_in_the_order_of_ranked() {
        let mut t = Table::default();
        // Ties on tries, across stored and touched, IPv4 and IPv6.
        for (i, (addr, n)) in [
            ("203.0.113.5", 2),
            ("198.51.100.2", 3),
            ("2001:db8::", 2),
            ("10.0.0.1", 1),
            ("192.0.2.9", 2),
        ]
        .iter()
        .enumerate()
        {
            let line = format!(
                "Nov 26 00:00:01 web01 sshd[{i}]: message repeated {n} times: [ Failed password for root from {addr} port 22 ssh2]"
            );
            feed(&mut t, &[(&line, 1)]);
        }
        let mut t = reloaded(&t);
        // Two touched since: one ties with stored ones, one goes first.
        let more = CONN[2].replace("203.0.113.5", "198.51.100.7");
        feed(&mut t, &[(&more, 5), (&more.replace("[3504]", "[1]"), 6)]);
        feed(&mut t, &[(&CONN[2].replace("[3504]", "[9]"), 7)]);
        feed(&mut t, &[(&CONN[2].replace("[3504]", "[10]"), 8)]);
        assert_eq!(t.attackers.len(), 2);
        let mut each = Vec::new();
        t.try_for_each_ranked(|ip, a| {
            each.push((ip, a.clone()));
            Ok::<_, ()>(())
        })
        .unwrap();
        let ranked: Vec<_> = t
            .clone()
            .ranked()
            .into_iter()
            .map(|(ip, a)| (*ip, a.clone()))
            .collect();
        assert_eq!(each, ranked);
        assert_eq!(each.len(), 6);
        assert_eq!(each[0].0, ip("203.0.113.5"));
        // An error stops it.
        let mut n = 0;
        assert_eq!(
            t.try_for_each_ranked(|_, _| {
                n += 1;
                if n == 2 { Err("stop") } else { Ok(()) }
            }),
            Err("stop")
        );
        assert_eq!(n, 2);
    }
}
