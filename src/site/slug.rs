//! Where an attacker's page lives: its slug, the file name under `ip/`,
//! stable, readable and unique for every address or network, and safe in a
//! URL and a file name without escaping.

use std::net::IpAddr;

/// An attacker as the table keys it: its address (a network's first), and
/// the network's prefix length when it is one.
pub type Key = (IpAddr, Option<u8>);

/// How pages name it: `203.0.113.45`, or `2001:db8:1:2::/64`.
pub fn source((ip, prefix): Key) -> String {
    match prefix {
        Some(p) => format!("{ip}/{p}"),
        None => ip.to_string(),
    }
}

/// The attacker a slug names: the inverse of `slug`, for the slugs it makes.
pub fn unslug(s: &str) -> Option<Key> {
    if !is_slug(s) {
        return None;
    }
    let (addr, prefix) = match s.split_once('_') {
        Some((a, p)) => (a, Some(p.parse().ok()?)),
        None => (s, None),
    };
    let key = (addr.replace('-', ":").parse().ok()?, prefix);
    // Only the one spelling `slug` makes (no leading zeros, no other forms).
    (slug(key.0, key.1) == s).then_some(key)
}

/// `203.0.113.45`, `2001-db8--7` for one IPv6 address, `2001-db8-1-2--_64`
/// for a network counted as one. An IPv6 address always holds a `:`, made
/// `-`, which no IPv4 address holds; and `_`, which no address holds,
/// stands for the `/` of a prefix, so a network never meets an address
/// (`2001:db8:1:2::64`'s slug is `2001-db8-1-2--64`).
pub fn slug(ip: IpAddr, prefix: Option<u8>) -> String {
    let mut s = ip.to_string().replace(':', "-");
    if let Some(p) = prefix {
        s.push('_');
        s.push_str(&p.to_string());
    }
    s
}

/// The page's path inside the site's folder, and after its URL.
pub fn page_path(slug: &str) -> String {
    format!("ip/{slug}.html")
}

/// The JSON twin's.
pub fn json_path(slug: &str) -> String {
    format!("ip/{slug}.json")
}

/// Whether `s` could be a slug: what `slug` makes, no more (a manifest
/// row's slug names a file the site deletes).
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() || matches!(b, b'.' | b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn readable_slugs() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(slug(ip("203.0.113.45"), None), "203.0.113.45");
        assert_eq!(slug(ip("2001:db8:1:2::"), Some(64)), "2001-db8-1-2--_64");
        assert_eq!(slug(ip("2001:db8:1:2::64"), None), "2001-db8-1-2--64");
        assert_eq!(page_path("203.0.113.45"), "ip/203.0.113.45.html");
        assert!(!is_slug("../x") && !is_slug("") && !is_slug("a/b"));
    }

    fn any_ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<u32>().prop_map(|n| IpAddr::V4(Ipv4Addr::from(n))),
            any::<u128>().prop_map(|n| IpAddr::V6(Ipv6Addr::from(n))),
            // Mapped and compatible forms, which print with dots.
            any::<u32>().prop_map(|n| IpAddr::V6(Ipv4Addr::from(n).to_ipv6_mapped())),
            any::<u32>().prop_map(|n| IpAddr::V6(Ipv6Addr::from(u128::from(n)))),
        ]
    }

    proptest! {
        #[test]
        fn slugs_are_url_safe_and_injective(
            a in any_ip(), pa in proptest::option::of(0u8..=128),
            b in any_ip(), pb in proptest::option::of(0u8..=128),
        ) {
            let (sa, sb) = (slug(a, pa), slug(b, pb));
            prop_assert!(is_slug(&sa), "{}", sa);
            prop_assert!(sa.bytes().all(|c| c.is_ascii_alphanumeric() || b".-_".contains(&c)));
            // Read back to what made it: no two attackers share a slug.
            prop_assert_eq!(unslug(&sa), Some((a, pa)));
            prop_assert_eq!(sa == sb, (a, pa) == (b, pb), "{} {}", sa, sb);
            // The same attacker, the same slug, whatever run makes it.
            prop_assert_eq!(&sa, &slug(a, pa));
        }
    }
}
