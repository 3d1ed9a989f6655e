//! The hasher of the per-event maps (attackers, open connections, PAM
//! children, connection links): SipHash cost a quarter of a replay's
//! instructions on keys of a few words.
//!
//! foldhash (the default hasher of hashbrown) is a keyed folded multiply,
//! seeded per map from a per-process random value, so a hostile log cannot
//! aim its addresses or pids at one bucket without knowing the seed. It is a
//! well-kept crate; a hasher written here would be one more thing to get
//! right against an attacker who chooses the keys.

use std::collections::HashMap;

/// A `HashMap` with the fast keyed hasher.
pub type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;
    use std::net::IpAddr;

    #[test]
    fn spreads_sequential_addresses_over_buckets() {
        // The low bits pick a bucket, the top 7 its tag: both must vary.
        let map: Map<IpAddr, ()> = Map::default();
        let (mut low, mut top) = (
            std::collections::HashSet::new(),
            std::collections::HashSet::new(),
        );
        for i in 0..4096u32 {
            let h = map
                .hasher()
                .hash_one(IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i)));
            low.insert(h & 0xfff);
            top.insert(h >> 57);
        }
        assert!(low.len() > 2400, "{} of 4096 low buckets", low.len());
        assert_eq!(top.len(), 128);
    }

    #[test]
    fn two_processes_hash_the_same_address_apart() {
        // Seeded at random: a log cannot know where its addresses land.
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let seeds: std::collections::HashSet<u64> = (0..8)
            .map(|_| foldhash::fast::RandomState::default().hash_one(ip))
            .collect();
        assert!(seeds.len() > 1, "the seed varies");
    }
}
