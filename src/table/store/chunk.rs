//! A chunk: its records part, written once in address order in blocks of
//! `BLOCK`, and its index part (each block's first key, place and sum, and
//! the Bloom filter), read at load and checked against the head's sum.

use std::fs::File;
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::FileExt;

use serde::{Deserialize, Serialize};

use super::super::{Attacker, ip_order};
use super::bloom::Bloom;
use super::frame::Placed;
use super::hex::{hex, unhex};
use super::{BLOCK, Key, sum};
use crate::clock::Secs;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct ChunkMeta {
    /// The first record's offset in the file, and the records' length.
    pub(super) at: u64,
    pub(super) len: u64,
    /// Where its index part is, and that part's FNV-1a.
    pub(super) index_at: u64,
    pub(super) index_len: u64,
    pub(super) index_sum: String,
    /// Records in it, and the newest last try among them.
    pub(super) n: u64,
    pub(super) last: Secs,
}

/// A chunk as loaded: its blocks' keys, places and sums, and its filter.
#[derive(Debug, Clone)]
pub(super) struct Chunk {
    pub(super) meta: ChunkMeta,
    pub(super) blocks: Vec<BlockRef>,
    pub(super) bloom: Bloom,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct BlockRef {
    /// Its first record's key.
    pub(super) key: Key,
    pub(super) at: u64,
    pub(super) len: u32,
    pub(super) sum: u32,
}
/// Bytes of one index entry: v6 flag, key, offset from the chunk, sum.
pub(super) const ENTRY: usize = 1 + 16 + 4 + 4;
/// One attacker to write: the array as stored, or one held in memory.
pub(in crate::table) enum Val<'v> {
    Raw(Vec<u8>, Secs),
    Mem(&'v Attacker),
}

/// Writes a chunk part and its index part (`,\n` between them, none
/// before), records in address order; returns the chunk as loaded.
pub(in crate::table) fn write_chunk<'v, W: Write>(
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
    let part = index_part(at, &blocks, &bloom);
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

/// The index part of a chunk whose records start at `at`:
/// `{"index":"<hex>","bloom":"<hex>"}`, each block's entry (`ENTRY`) and
/// the filter's words, little-endian.
fn index_part(at: u64, blocks: &[BlockRef], bloom: &Bloom) -> Vec<u8> {
    let mut part = Vec::with_capacity(blocks.len() * ENTRY * 2 + bloom.bits.len() * 16 + 32);
    part.extend_from_slice(b"{\"index\":\"");
    let mut entry = [0u8; ENTRY];
    for b in blocks {
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
    part
}

/// A chunk just written, to add to the store once its save is committed.
pub struct ChunkWritten(pub(super) Chunk);

/// Reads a chunk's index part and checks it against the head's sum.
pub(super) fn load_chunk(file: &File, meta: ChunkMeta) -> Result<Chunk, String> {
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
