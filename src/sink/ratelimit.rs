//! When a rate limit ends, read from a reply's headers.

use crate::clock::{Secs, parse_rfc3339};

/// When a 429 ends: `Retry-After` seconds, else `X-RateLimit-Reset` or
/// `RateLimit-Reset` as Unix seconds (AbuseIPDB, Bluesky), seconds from now
/// (the IETF draft) or an ISO 8601 time (Mastodon).
pub(super) fn reset_at(headers: &ureq::http::HeaderMap, now: Secs) -> Option<Secs> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(secs) = get("retry-after").and_then(|v| v.parse::<i64>().ok()) {
        return Some(now + secs.max(0));
    }
    for name in ["x-ratelimit-reset", "ratelimit-reset"] {
        let Some(v) = get(name) else { continue };
        if let Ok(n) = v.parse::<i64>() {
            return Some(if n > 1_000_000_000 { n } else { now + n.max(0) });
        }
        if let Ok(t) = parse_rfc3339(v) {
            return Some(t);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_from_each_header_style() {
        let h = |k: &str, v: &str| {
            let mut m = ureq::http::HeaderMap::new();
            m.insert(
                ureq::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
            m
        };
        let now = 1_795_694_400;
        assert_eq!(reset_at(&h("Retry-After", "120"), now), Some(now + 120));
        assert_eq!(
            reset_at(&h("X-RateLimit-Reset", "1795698000"), now),
            Some(1_795_698_000)
        );
        assert_eq!(reset_at(&h("ratelimit-reset", "60"), now), Some(now + 60));
        assert_eq!(
            reset_at(&h("X-RateLimit-Reset", "2026-11-26T12:05:00.000Z"), now),
            Some(now + 300)
        );
        assert_eq!(reset_at(&h("X-RateLimit-Reset", "soon"), now), None);
        assert_eq!(reset_at(&ureq::http::HeaderMap::new(), now), None);
    }
}
