//! The Bloom filter a chunk keeps over its keys: its layout is saved, so
//! its hashing is fixed.

use super::Key;

/// Bloom filter bits per record (five probes: about 2% false positives).
pub(super) const BLOOM_BITS: usize = 8;
pub(super) const BLOOM_PROBES: u64 = 5;
/// A Bloom filter over keys: most addresses a run meets are new, and it
/// spares each a block read per chunk.
#[derive(Debug, Clone, Default)]
pub(super) struct Bloom {
    pub(super) bits: Vec<u64>,
}

impl Bloom {
    pub(super) fn with_capacity(n: usize) -> Bloom {
        Bloom {
            bits: vec![0; (n * BLOOM_BITS).div_ceil(64).max(1)],
        }
    }

    pub(super) fn probes(&self, key: Key) -> impl Iterator<Item = (usize, u64)> + use<> {
        let m = self.bits.len() as u64 * 64;
        let x = (key.1 as u64) ^ ((key.1 >> 64) as u64).rotate_left(29) ^ u64::from(key.0);
        let h1 = mix(x);
        let h2 = mix(h1 ^ 0x9e37_79b9_7f4a_7c15) | 1;
        (0..BLOOM_PROBES).map(move |i| {
            let bit = h1.wrapping_add(i.wrapping_mul(h2)) % m;
            ((bit / 64) as usize, 1u64 << (bit % 64))
        })
    }

    pub(super) fn insert(&mut self, key: Key) {
        for (w, b) in self.probes(key) {
            self.bits[w] |= b;
        }
    }

    pub(super) fn may_hold(&self, key: Key) -> bool {
        !self.bits.is_empty() && self.probes(key).all(|(w, b)| self.bits[w] & b != 0)
    }
}

/// splitmix64's finalizer: fixed, since the filter is saved.
pub(super) fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
