//! Rate limits: when one ends, read from a reply's headers, and how long a
//! sink waits for it.
//!
//! cron runs every 15 minutes. A sink waits for a reset only while it is in
//! the future, so a reset already past, or none at all, never skips the
//! next run; and never longer than `MAX_BLOCK`, so a reset in the wrong
//! unit (milliseconds) cannot silence a sink for centuries.

use crate::clock::{Secs, format_rfc3339, parse_rfc3339, span};

/// The longest a sink waits: X's longest window is 24 hours; the rest is
/// room for a clock that is a little off.
pub const MAX_BLOCK: Secs = 25 * 3600;

/// A limit a service said is used up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// When it lifts (Unix seconds), as the service said.
    pub reset: Option<Secs>,
    /// What is used up, for the notice: "X's 24-hour post limit for the account (17 posts)".
    pub what: String,
    /// With no reset: wait this long anyway (seconds), for a limit known
    /// not to lift by the next run (X's spend cap). `None`: the next run tries.
    pub hold: Option<Secs>,
}

/// How long X's usage cap is waited for when no 24-hour reset comes with
/// it: the cap lifts when the account's owner raises it (or its billing
/// period ends), which an hourly try notices soon enough, at a quarter of
/// the refused requests of trying every cron run.
pub const USAGE_CAP_HOLD: Secs = 3600;

/// How long a sink waits for a limit to lift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// No post before this time; `None`: try again on the next run.
    pub until: Option<Secs>,
    /// Set when the reset was not believable, saying why.
    pub implausible: Option<String>,
}

/// The wait for `limit`, seen at `now`.
pub fn block(limit: &Limit, now: Secs) -> Block {
    match limit.reset {
        Some(reset) if reset > now + MAX_BLOCK => Block {
            until: Some(now + MAX_BLOCK),
            implausible: Some(format!(
                "the reset given for {} ({reset}) is {} away, which no limit \
                 lasts (seconds given in milliseconds?); waiting {} at most",
                limit.what,
                span(reset - now),
                span(MAX_BLOCK)
            )),
        },
        Some(reset) if reset > now => Block {
            until: Some(reset),
            implausible: None,
        },
        Some(_) => Block {
            until: None,
            implausible: None,
        },
        None => Block {
            until: limit.hold.map(|h| now + h.min(MAX_BLOCK)),
            implausible: None,
        },
    }
}

/// A saved wait, bounded as `block` bounds a new one: a state written by a
/// version without the bound may hold a wait of centuries.
pub fn bounded(until: Secs, now: Secs) -> Secs {
    until.min(now + MAX_BLOCK)
}

/// "until 2026-11-27T08:00:00Z", or "on the next run".
pub fn lifts(until: Option<Secs>) -> String {
    match until {
        Some(t) => format!("at {}", format_rfc3339(t)),
        None => "on the next run".to_string(),
    }
}

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

    fn limit(reset: Option<Secs>) -> Limit {
        Limit {
            reset,
            what: "X's 15-minute limit".into(),
            hold: None,
        }
    }

    #[test]
    fn a_block_waits_only_for_a_future_reset_and_never_past_the_bound() {
        let now = 1_795_694_400;
        // Past, equal or absent: the next run (just under 900 s on) tries again.
        for reset in [None, Some(now - 1), Some(now)] {
            assert_eq!(block(&limit(reset), now).until, None, "{reset:?}");
        }
        let b = block(&limit(Some(now + 850)), now);
        assert_eq!(
            b,
            Block {
                until: Some(now + 850),
                implausible: None
            }
        );
        let day = block(&limit(Some(now + 20 * 3600)), now);
        assert_eq!(
            day.until,
            Some(now + 20 * 3600),
            "a 24-hour limit is believed"
        );
        // Milliseconds: bounded, and said.
        let ms = block(&limit(Some((now + 900) * 1000)), now);
        assert_eq!(ms.until, Some(now + MAX_BLOCK));
        let why = ms.implausible.unwrap();
        assert!(
            why.contains("milliseconds") && why.contains("X's 15-minute limit"),
            "{why}"
        );
        assert_eq!(bounded(56_000_000_000_000, now), now + MAX_BLOCK);
        assert_eq!(bounded(now + 60, now), now + 60);
        const { assert!(MAX_BLOCK > 24 * 3600 && MAX_BLOCK <= 26 * 3600) };
        // No reset, but a limit that does not lift by the next run: held;
        // a reset past is still the next run's to try.
        let held = Limit {
            hold: Some(3600),
            ..limit(None)
        };
        assert_eq!(block(&held, now).until, Some(now + 3600));
        let past = Limit {
            reset: Some(now - 1),
            ..held
        };
        assert_eq!(block(&past, now).until, None);
    }

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
