//! The hasher of the per-event maps (attackers, open connections, PAM
//! children, connection links): SipHash cost a quarter of a replay's
//! instructions on keys of a few words. A folded multiply, keyed per process
//! from std's random source, so a hostile log cannot aim at one bucket
//! without knowing the key.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::LazyLock;

/// FNV-1a, 64 bits: fixed and unkeyed, unlike `Keyed`, for what is saved
/// or compared across runs (a log's fingerprint, a hashed host or user
/// name in the table, a sink's idempotency key).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A `HashMap` with the fast keyed hasher.
pub type Map<K, V> = HashMap<K, V, Keyed>;

/// A `HashSet` with the fast keyed hasher.
pub type Set<K> = HashSet<K, Keyed>;

/// Drawn once per process: every map of a run shares it.
static KEY: LazyLock<u64> = LazyLock::new(|| RandomState::new().hash_one(0x7765_6574_u64) | 1);

const MUL: u64 = 0x9e37_79b9_7f4a_7c15;

fn fold(a: u64, b: u64) -> u64 {
    let m = (a as u128).wrapping_mul(b as u128);
    (m as u64) ^ ((m >> 64) as u64)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyed(u64);

impl Default for Keyed {
    fn default() -> Self {
        Keyed(*KEY)
    }
}

impl BuildHasher for Keyed {
    type Hasher = Folded;
    fn build_hasher(&self) -> Folded {
        Folded {
            h: self.0,
            key: self.0,
        }
    }
}

pub struct Folded {
    h: u64,
    key: u64,
}

impl Hasher for Folded {
    #[inline]
    fn write_u64(&mut self, x: u64) {
        self.h = fold(self.h ^ x, self.key ^ MUL);
    }
    #[inline]
    fn write_u32(&mut self, x: u32) {
        self.write_u64(x as u64);
    }
    #[inline]
    fn write_u16(&mut self, x: u16) {
        self.write_u64(x as u64);
    }
    #[inline]
    fn write_u8(&mut self, x: u8) {
        self.write_u64(x as u64);
    }
    #[inline]
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }
    #[inline]
    fn write_isize(&mut self, x: isize) {
        self.write_u64(x as u64);
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        // The length goes in the top byte: "a\0" and "a" differ.
        self.write_u64(u64::from_le_bytes(last) ^ ((bytes.len() as u64) << 56));
    }
    #[inline]
    fn finish(&self) -> u64 {
        fold(self.h, MUL).rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::Hash;
    use std::net::IpAddr;

    fn hash<T: Hash>(t: T) -> u64 {
        Keyed::default().hash_one(t)
    }

    #[test]
    fn keys_that_differ_hash_apart() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let c: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_ne!(hash(a), hash(b));
        assert_ne!(hash(a), hash(c));
        assert_eq!(hash(a), hash("192.0.2.1".parse::<IpAddr>().unwrap()));
        // `write` itself, below the slice's length prefix.
        let written = |b: &[u8]| {
            let mut h = Keyed::default().build_hasher();
            h.write(b);
            h.finish()
        };
        assert_ne!(written(b"a"), written(b"a\0"));
        assert_ne!(hash((1u64, 2u32)), hash((2u64, 1u32)));
    }

    #[test]
    fn spreads_sequential_addresses_over_buckets() {
        // The low bits pick a bucket, the top 7 its tag: both must vary.
        let mut low = std::collections::HashSet::new();
        let mut top = std::collections::HashSet::new();
        for i in 0..4096u32 {
            let h = hash(IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i)));
            low.insert(h & 0xfff);
            top.insert(h >> 57);
        }
        assert!(low.len() > 2400, "{} of 4096 low buckets", low.len());
        assert_eq!(top.len(), 128);
    }
}
