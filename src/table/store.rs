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
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use super::children::{ChildRecord, Children};
use super::head::{Head, read_head};
use super::{Attacker, Conn, ConnKey, Rules, Table, ip_order};
use crate::clock::Secs;
use crate::hash::Map;

/// The checksum of a block, an index or a head: CRC-32, SIMD-fast (a cron
/// run checks a few MB of index and a block per address it meets).
fn sum(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// A table key in address order (see `ip_order`).
pub(super) type Key = (bool, u128);

/// Records per block: a lookup reads one block, about 2 KB.
const BLOCK: usize = 32;

/// Bloom filter bits per record (five probes: about 2% false positives).
const BLOOM_BITS: usize = 8;
const BLOOM_PROBES: u64 = 5;

/// More chunks than this and the file is compacted: each costs a lookup a probe.
const MAX_CHUNKS: usize = 48;

/// Dead bytes below this never make a save compact: a small file may be mostly dead.
const MIN_DEAD: u64 = 1 << 20;

/// The file's first bytes in format 4, and its last.
pub const PREFIX: &[u8] = b"{\"version\":4,\"parts\":[\n";
const SUFFIX: &[u8] = b"\n]}\n";

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ChunkMeta {
    /// The first record's offset in the file, and the records' length.
    at: u64,
    len: u64,
    /// Where its index part is, and that part's FNV-1a.
    index_at: u64,
    index_len: u64,
    index_sum: String,
    /// Records in it, and the newest last try among them.
    n: u64,
    last: Secs,
}

/// A chunk as loaded: its blocks' keys, places and sums, and its filter.
#[derive(Debug, Clone)]
struct Chunk {
    meta: ChunkMeta,
    blocks: Vec<BlockRef>,
    bloom: Bloom,
}

#[derive(Debug, Clone, Copy)]
struct BlockRef {
    /// Its first record's key.
    key: Key,
    at: u64,
    len: u32,
    sum: u32,
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

/// A record in a block: its address, key and array, as offsets into the block.
struct Rec {
    key: Key,
    ip: IpAddr,
    /// Where `"address":` starts.
    start: usize,
    val: std::ops::Range<usize>,
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

/// Parses a block: `"address":[…],"address":[…]…`.
fn parse_records(b: &[u8], out: &mut Vec<Rec>) -> Option<()> {
    let mut i = 0;
    while i < b.len() {
        if !out.is_empty() {
            (b[i] == b',').then_some(())?;
            i += 1;
        }
        (b.get(i) == Some(&b'"')).then_some(())?;
        let end = i + 1 + b[i + 1..].iter().position(|&c| c == b'"')?;
        let ip = crate::parse::parse_ip(&b[i + 1..end])?;
        (b.get(end + 1) == Some(&b':')).then_some(())?;
        let start = end + 2;
        let stop = skip_array(b, start)?;
        out.push(Rec {
            key: ip_order(&ip),
            ip,
            start: i,
            val: start..stop,
        });
        i = stop;
    }
    Some(())
}

/// The end of the JSON array that starts at `i`.
fn skip_array(b: &[u8], mut i: usize) -> Option<usize> {
    (b.get(i) == Some(&b'[')).then_some(())?;
    let mut depth = 0usize;
    while let Some(&c) = b.get(i) {
        match c {
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b'"' => {
                i += 1;
                loop {
                    match b.get(i)? {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// A Bloom filter over keys: most addresses a run meets are new, and it
/// spares each a block read per chunk.
#[derive(Debug, Clone, Default)]
struct Bloom {
    bits: Vec<u64>,
}

impl Bloom {
    fn with_capacity(n: usize) -> Bloom {
        Bloom {
            bits: vec![0; (n * BLOOM_BITS).div_ceil(64).max(1)],
        }
    }

    fn probes(&self, key: Key) -> impl Iterator<Item = (usize, u64)> + use<> {
        let m = self.bits.len() as u64 * 64;
        let x = (key.1 as u64) ^ ((key.1 >> 64) as u64).rotate_left(29) ^ u64::from(key.0);
        let h1 = mix(x);
        let h2 = mix(h1 ^ 0x9e37_79b9_7f4a_7c15) | 1;
        (0..BLOOM_PROBES).map(move |i| {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) % m;
            ((bit / 64) as usize, 1u64 << (bit % 64))
        })
    }

    fn insert(&mut self, key: Key) {
        for (w, b) in self.probes(key) {
            self.bits[w] |= b;
        }
    }

    fn may_hold(&self, key: Key) -> bool {
        !self.bits.is_empty() && self.probes(key).all(|(w, b)| self.bits[w] & b != 0)
    }
}

/// splitmix64's finalizer: fixed, since the filter is saved.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn hex(bytes: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize]);
        out.push(DIGITS[(b & 15) as usize]);
    }
}

fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    // Branch-free, so that it vectorizes: a cron run decodes a few MB of it.
    fn digit(c: u8) -> u8 {
        let num = c.wrapping_sub(b'0');
        let alpha = (c | 0x20).wrapping_sub(b'a');
        match (num < 10, alpha < 6) {
            (true, _) => num,
            (_, true) => alpha + 10,
            _ => 0xff,
        }
    }
    text.len().is_multiple_of(2).then_some(())?;
    let mut out = vec![0u8; text.len() / 2];
    let mut worst = 0u8;
    for (o, p) in out.iter_mut().zip(text.chunks_exact(2)) {
        let (hi, lo) = (digit(p[0]), digit(p[1]));
        worst = worst.max(hi).max(lo);
        *o = hi << 4 | (lo & 15);
    }
    (worst < 16).then_some(out)
}

/// Bytes of one index entry: v6 flag, key, offset from the chunk, sum.
const ENTRY: usize = 1 + 16 + 4 + 4;

/// A writer that knows its offset in the file.
pub struct Placed<W> {
    w: W,
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

/// One attacker to write: the array as stored, or one held in memory.
pub(super) enum Val<'v> {
    Raw(Vec<u8>, Secs),
    Mem(&'v Attacker),
}

/// Writes a chunk part and its index part (`,\n` between them, none
/// before), records in address order; returns the chunk as loaded.
pub(super) fn write_chunk<'v, W: Write>(
    w: &mut Placed<W>,
    records: impl Iterator<Item = (IpAddr, Val<'v>)>,
    expected: usize,
) -> io::Result<ChunkWritten> {
    w.write_all(b"{\"attackers\":{")?;
    let at = w.at;
    let mut bloom = Bloom::with_capacity(expected.max(1));
    let mut blocks: Vec<BlockRef> = Vec::new();
    let (mut n, mut newest) = (0u64, Secs::MIN);
    let mut block = Vec::with_capacity(4096);
    let flush = |w: &mut Placed<W>, block: &mut Vec<u8>, blocks: &mut Vec<BlockRef>| {
        if let Some(b) = blocks.last_mut() {
            b.at = w.at;
            b.len = block.len() as u32;
            b.sum = sum(block);
        }
        let r = w.write_all(block);
        block.clear();
        r
    };
    for (ip, val) in records {
        let key = ip_order(&ip);
        if (n as usize).is_multiple_of(BLOCK) {
            if n > 0 {
                flush(w, &mut block, &mut blocks)?;
                w.write_all(b",")?;
            }
            blocks.push(BlockRef {
                key,
                at: 0,
                len: 0,
                sum: 0,
            });
        } else {
            block.push(b',');
        }
        block.push(b'"');
        write!(block, "{ip}")?;
        block.extend_from_slice(b"\":");
        match val {
            Val::Raw(json, last) => {
                block.extend_from_slice(&json);
                newest = newest.max(last);
            }
            Val::Mem(a) => {
                serde_json::to_writer(&mut block, a)?;
                newest = newest.max(a.last);
            }
        }
        bloom.insert(key);
        n += 1;
    }
    flush(w, &mut block, &mut blocks)?;
    let len = w.at - at;
    w.write_all(b"}},\n")?;
    let index_at = w.at;
    let mut part = Vec::with_capacity(blocks.len() * ENTRY * 2 + bloom.bits.len() * 16 + 32);
    part.extend_from_slice(b"{\"index\":\"");
    let mut entry = [0u8; ENTRY];
    for b in &blocks {
        entry[0] = u8::from(b.key.0);
        entry[1..17].copy_from_slice(&b.key.1.to_be_bytes());
        entry[17..21].copy_from_slice(&((b.at - at) as u32).to_le_bytes());
        entry[21..].copy_from_slice(&b.sum.to_le_bytes());
        hex(&entry, &mut part);
    }
    part.extend_from_slice(b"\",\"bloom\":\"");
    for word in &bloom.bits {
        hex(&word.to_le_bytes(), &mut part);
    }
    part.extend_from_slice(b"\"}");
    w.write_all(&part)?;
    let meta = ChunkMeta {
        at,
        len,
        index_at,
        index_len: part.len() as u64,
        index_sum: format!("{:08x}", sum(&part)),
        n,
        last: newest,
    };
    Ok(ChunkWritten(Chunk {
        meta,
        blocks,
        bloom,
    }))
}

/// A chunk just written, to add to the store once its save is committed.
pub struct ChunkWritten(Chunk);

/// Reads a chunk's index part and checks it against the head's sum.
fn load_chunk(file: &File, meta: ChunkMeta) -> Result<Chunk, String> {
    let mut part = vec![0; meta.index_len as usize];
    file.read_exact_at(&mut part, meta.index_at)
        .map_err(|e| format!("cannot read the index at byte {}: {e}", meta.index_at))?;
    if format!("{:08x}", sum(&part)) != meta.index_sum {
        return Err(format!(
            "the index at byte {} fails its checksum",
            meta.index_at
        ));
    }
    let bad = || format!("the index at byte {} is unreadable", meta.index_at);
    // Written as `{"index":"<hex>","bloom":"<hex>"}`: hex holds no quote.
    let (index, bloom) = part
        .strip_prefix(b"{\"index\":\"")
        .and_then(|p| p.strip_suffix(b"\"}"))
        .and_then(|p| {
            let i = memchr::memchr(b'"', p)?;
            Some((&p[..i], p[i..].strip_prefix(b"\",\"bloom\":\"")?))
        })
        .ok_or_else(bad)?;
    let entries = unhex(index).ok_or_else(bad)?;
    let words = unhex(bloom).ok_or_else(bad)?;
    if entries.len() % ENTRY != 0 || words.len() % 8 != 0 {
        return Err(bad());
    }
    let mut blocks: Vec<BlockRef> = entries
        .chunks_exact(ENTRY)
        .map(|e| BlockRef {
            key: (
                e[0] != 0,
                u128::from_be_bytes(e[1..17].try_into().expect("16")),
            ),
            at: meta.at + u64::from(u32::from_le_bytes(e[17..21].try_into().expect("4"))),
            len: 0,
            sum: u32::from_le_bytes(e[21..].try_into().expect("4")),
        })
        .collect();
    // Each block ends where the next begins, less the comma; the last at the records' end.
    let ends: Vec<u64> = blocks
        .iter()
        .skip(1)
        .map(|b| b.at.saturating_sub(1))
        .chain([meta.at + meta.len])
        .collect();
    for (b, end) in blocks.iter_mut().zip(ends) {
        if end < b.at || end - b.at > u64::from(u32::MAX) || end > meta.at + meta.len {
            return Err(bad());
        }
        b.len = (end - b.at) as u32;
    }
    if !blocks.is_sorted_by(|a, b| a.key < b.key) {
        return Err(bad());
    }
    let bloom = Bloom {
        bits: words
            .chunks_exact(8)
            .map(|w| u64::from_le_bytes(w.try_into().expect("8")))
            .collect(),
    };
    Ok(Chunk {
        meta,
        blocks,
        bloom,
    })
}

/// The trailer: where the head part is, its length and its FNV-1a, in
/// fixed-width hex so that its length is known from the end of the file.
fn trailer(at: u64, len: u64, sum: u64) -> String {
    format!("{{\"at\":\"{at:016x}\",\"len\":\"{len:016x}\",\"sum\":\"{sum:016x}\"}}")
}

const TRAILER_LEN: usize = 75;
const TRAILER_START: &[u8] = b"{\"at\":\"";

/// Reads a trailer that starts at `b[0]`: the head's offset and length if it is one.
fn read_trailer(b: &[u8]) -> Option<(u64, u64, u64)> {
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
const TICK_START: &[u8] = b"{\"tick\":";
const TICK_END: &[u8] = b",\"end\":\"";
const TICK_TAIL: usize = TICK_END.len() + 16 + 2;

fn tick_part(text: &[u8]) -> Vec<u8> {
    let mut part = TICK_START.to_vec();
    part.extend_from_slice(text);
    let tail = format!("{:08x}{:08x}\"}}", part.len(), sum(&part));
    part.extend_from_slice(TICK_END);
    part.extend_from_slice(tail.as_bytes());
    part
}

/// The text of the tick that ends at `end`, if it starts after `floor`.
fn read_tick(file: &File, floor: u64, end: u64) -> Option<Vec<u8>> {
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
    file: Arc<File>,
    id: (u64, u64),
    end: u64,
    head_ref: HeadRef,
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
    fn from(&self) -> u64 {
        self.at.saturating_sub(2)
    }

    /// Where its own trailer ends: the ticks after it start there.
    fn ticks_from(&self) -> u64 {
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
fn recover(
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
    w: &'w mut Placed<W>,
    crc: crc32fast::Hasher,
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

const HEAD_START: &[u8] = b"{\"head\":";

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
    file: &'f File,
    /// The next byte to compare, and the body's end.
    at: u64,
    end: u64,
    same: bool,
    scratch: Vec<u8>,
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

/// An open connection as the head keeps it: `ConnKey`'s fields then
/// `Conn`'s, in one object. Spelled out, not two flattened structs: serde's
/// flatten reads through a buffer of every field, and a burst leaves
/// 100,000 connections open.
#[derive(Serialize, Deserialize)]
struct ConnRecord {
    h: u64,
    pid: u32,
    ip: IpAddr,
    f: u32,
    p: u32,
    e: u32,
    n: u32,
    t: Secs,
}

impl ConnRecord {
    fn of(key: &ConnKey, c: &Conn) -> ConnRecord {
        ConnRecord {
            h: key.host,
            pid: key.pid,
            ip: key.ip,
            f: c.f,
            p: c.p,
            e: c.e,
            n: c.n,
            t: c.t,
        }
    }

    fn key(&self) -> ConnKey {
        ConnKey {
            host: self.h,
            pid: self.pid,
            ip: self.ip,
        }
    }

    fn conn(&self) -> Conn {
        Conn {
            f: self.f,
            p: self.p,
            e: self.e,
            n: self.n,
            t: self.t,
        }
    }
}

/// The table as the head holds it: the open connections and the store's
/// meta. Its attackers are in the chunks, written by `Table::write_changes`
/// or `Table::write_everything` before the head.
impl Serialize for Table {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut conns: Vec<(&ConnKey, &Conn)> = self.conns.iter().collect();
        conns.sort_unstable_by_key(|(k, _)| **k);
        let conns: Vec<ConnRecord> = conns
            .into_iter()
            .map(|(k, c)| ConnRecord::of(k, c))
            .collect();
        let mut st = s.serialize_struct("Table", 3)?;
        st.serialize_field("conns", &conns)?;
        if self.children.is_empty() {
            st.skip_field("children")?;
        } else {
            st.serialize_field("children", &self.children.records())?;
        }
        st.serialize_field("store", &self.stored.meta)?;
        st.end()
    }
}

/// A head's table (format 4), or a whole table of format 1 to 3, whose
/// attackers are read into memory and written out in full by the next save.
impl<'de> Deserialize<'de> for Table {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default)]
            attackers: Option<Map<IpAddr, Attacker>>,
            #[serde(default)]
            conns: Vec<ConnRecord>,
            #[serde(default)]
            children: Vec<ChildRecord>,
            #[serde(default)]
            store: Meta,
        }
        let raw = Raw::deserialize(d)?;
        let mut stored = Store {
            meta: raw.store,
            ..Store::default()
        };
        // Searched by address (`is_kept`): in order, whoever wrote the file.
        stored.meta.kept.sort_unstable_by_key(ip_order);
        let attackers = raw.attackers.unwrap_or_default();
        if !attackers.is_empty() {
            stored.migrated();
        }
        let latest = attackers.values().map(|a| a.last).max().unwrap_or(0);
        // Saved by key: queued again oldest first.
        let mut expiry: Vec<_> = raw.conns.iter().map(|r| (r.t, r.key())).collect();
        expiry.sort_unstable();
        let latest = latest.max(raw.conns.iter().map(|r| r.t).max().unwrap_or(0));
        Ok(Table {
            attackers,
            stored,
            taken: Map::default(),
            conns: raw.conns.iter().map(|r| (r.key(), r.conn())).collect(),
            children: Children::from_records(raw.children),
            expiry: expiry.into(),
            latest,
            // Not saved: the run's options set them.
            rules: Rules::default(),
            links: Default::default(),
        })
    }
}

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

    #[test]
    fn the_trailer_has_a_fixed_length_and_reads_back() {
        let t = trailer(1, u64::MAX, 0xabc);
        assert_eq!(t.len(), TRAILER_LEN);
        assert_eq!(read_trailer(t.as_bytes()), Some((1, u64::MAX, 0xabc)));
        assert_eq!(read_trailer(&t.as_bytes()[1..]), None);
        assert!(t.as_bytes().starts_with(TRAILER_START));
    }

    #[test]
    fn a_block_reads_back_its_records_whatever_their_names_hold() {
        let text = br#""192.0.2.7":[1,1,5,6,["a\"],\"b","]"],[]],"2001:db8::":[2,1,5,7,[],["h"],0,0,null,0,[64,"2001:db8::1"]]"#;
        let mut recs = Vec::new();
        parse_records(text, &mut recs).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].ip.to_string(), "192.0.2.7");
        assert_eq!(read_head(&text[recs[0].val.clone()]).unwrap().tries(), 1);
        assert_eq!(recs[1].ip.to_string(), "2001:db8::");
        let a: Attacker = serde_json::from_slice(&text[recs[1].val.clone()]).unwrap();
        assert_eq!(a.last, 7);
        for bad in [&b"\"192.0.2.7\":[1"[..], b"\"x\":[1,1,1,1]", b"[1]"] {
            assert!(parse_records(bad, &mut Vec::new()).is_none());
        }
    }

    #[test]
    fn the_bloom_filter_holds_what_was_put_in_and_little_else() {
        let mut b = Bloom::with_capacity(10_000);
        for i in 0..10_000u128 {
            b.insert((false, i * 7919));
        }
        assert!((0..10_000u128).all(|i| b.may_hold((false, i * 7919))));
        let false_hits = (0..10_000u128)
            .filter(|i| b.may_hold((true, i * 7919)))
            .count();
        assert!(false_hits < 500, "{false_hits} of 10,000");
    }

    #[test]
    fn hex_round_trips() {
        let mut out = Vec::new();
        hex(&[0, 1, 0xab, 0xff], &mut out);
        assert_eq!(out, b"0001abff");
        assert_eq!(unhex(&out).unwrap(), [0, 1, 0xab, 0xff]);
        assert!(unhex(b"0g").is_none() && unhex(b"0").is_none());
        assert!(unhex(b"/0").is_none() && unhex(b"0:").is_none() && unhex(b"`0").is_none());
    }
}
