//! IndexNow: telling search engines which of the site's URLs are new or
//! changed, in one POST per 10,000 URLs, and what each answer means.
//!
//! The caller decides which URLs are new or changed and keeps the queue;
//! this module only sends them (`submit`), says what the answer means
//! (`Answer`), keeps the bookkeeping that decides when to send again
//! (`Book`, saved in the state), and checks the key file for
//! `verify-credentials --sink site` (`check_key`).
//!
//! The protocol, as indexnow.org documents it: a POST of the JSON
//! `{"host","key","keyLocation","urlList"}` (`Content-Type: application/json;
//! charset=utf-8`), at most 10,000 URLs each; the key is 8 to 128 of a-z
//! A-Z 0-9 and `-`, served as the whole body of a UTF-8 file at
//! `keyLocation`, whose directory bounds the URLs it may announce. Answers:
//! 200 (received), 202 (received, key check pending), 400 (malformed),
//! 403 (key file missing or holding another key), 422 (a URL not on the
//! host, or a key not of the protocol's form), 429 (too many requests).
//!
//! What each answer does here (every status is handled explicitly):
//! - 200, 202 (and any other 2xx): `Answer::Accepted`.
//! - 429: `Answer::Wait` until `Retry-After` (seconds or an HTTP-date, at
//!   most `ratelimit::MAX_BLOCK` ahead), else for the backoff.
//! - 400, 403, 422, any other 4xx, and a redirect (3xx; the agent follows
//!   none): `Answer::Park` with the reason, since sending the same again
//!   would be refused again; only the admin's fix helps, after which the
//!   caller calls `Book::unpark`.
//! - 408, 425, 5xx, no answer (refused, timeout, DNS) and anything else:
//!   `Answer::Retry`: the next run sends again.
//!
//! Backoff (`backoff`): 15 minutes after the first failure, doubling to at
//! most 24 hours. A 429 without `Retry-After` waits `backoff(n)` for the
//! n-th failure in a row; a `Retry` lets the next cron run try after the
//! first failure and waits `backoff(n - 1)` after the n-th (n ≥ 2), so a
//! server that is down is asked eight times in its first day, then once a
//! day. Any accepted POST ends the run of failures.
//!
//! Use, once per run after the pages are written:
//! `let (n, stop) = submit(&ep, &queue, &book, now);` drop the first `n`
//! URLs from the queue, `book.record(stop.as_ref(), now);` save both, and
//! show `book.describe(now)` in `status` and `outbox`. `submit` itself
//! sends nothing while the book holds (`Book::may_send`).
//!
//! The key is public by design (it is served), but no message here quotes
//! it: the key file's URL is shown with `<key>` in its place, and what a
//! server says is scrubbed of it.

use std::fmt;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock::{Secs, format_rfc3339};
use crate::sink::http::{CONNECT_TIMEOUT, GLOBAL_TIMEOUT, MAX_REPLY_BYTES, agent};
use crate::sink::ratelimit::bounded;
use crate::sink::scrub::Secrets;

/// The most URLs one POST may carry.
pub const MAX_URLS_PER_POST: usize = 10_000;

/// The options file's `indexnow-url` when it is not given: the shared
/// endpoint, which passes each submission on to every participating engine.
pub const DEFAULT_URL: &str = "https://api.indexnow.org/indexnow";

/// What every POST declares its body to be, as the protocol shows it.
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// The first wait of the backoff, and its ceiling (see the header).
pub const FIRST_BACKOFF: Secs = 15 * 60;
pub const MAX_BACKOFF: Secs = 24 * 3600;

/// 8–128 of a-z A-Z 0-9 - (the options file's indexnow-key).
pub fn valid_key(key: &str) -> bool {
    (8..=128).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Where the key file of a site at `site_url` (ending in `/`) is served:
/// `<url><key>.txt`, which is also the POST's `keyLocation`.
pub fn key_url(site_url: &str, key: &str) -> String {
    format!("{site_url}{key}.txt")
}

/// Where to send, and what to say who we are. Its Debug output shows
/// `<key>` for the key, as messages do.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// indexnow-url, default `DEFAULT_URL`.
    pub url: String,
    /// The site's host name, without port or user info: `example.org`.
    pub host: String,
    pub key: String,
    /// The key file's URL: `key_url(site_url, key)`.
    pub key_location: String,
}

impl Endpoint {
    /// The endpoint at `url` for the site at `site_url` (ending in `/`),
    /// its key file in the site's own directory.
    pub fn new(url: &str, site_url: &str, key: &str) -> Endpoint {
        Endpoint {
            url: url.to_owned(),
            host: host_name(site_url).to_owned(),
            key: key.to_owned(),
            key_location: key_url(site_url, key),
        }
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &without_key(&self.url, &self.key))
            .field("host", &self.host)
            .field("key", &"<key>")
            .field("key_location", &without_key(&self.key_location, &self.key))
            .finish()
    }
}

/// `text` with `<key>` in place of the key: how a message shows the key
/// file's URL.
fn without_key(text: &str, key: &str) -> String {
    match key.is_empty() {
        true => text.to_owned(),
        false => text.replace(key, "<key>"),
    }
}

/// The host of `url` without scheme, user info or port (an IPv6 literal
/// keeps its brackets).
fn host_name(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => &host[..i],
        _ => host,
    }
}

/// What one POST's answer means for the URLs it carried.
#[derive(Debug)]
pub enum Answer {
    /// 200 or 202 (any 2xx): received.
    Accepted,
    /// 429: send nothing before `until`; `reason` is for `status`/`outbox`.
    Wait { until: Secs, reason: String },
    /// Refused in a way that sending again cannot fix (400, 403, 422, other
    /// 4xx, a redirect): held until the admin fixes it and the caller
    /// unparks; the reason is for `status`/`outbox`.
    Park(String),
    /// No answer, a timeout, or a server error: the next run sends again.
    Retry(anyhow::Error),
}

/// One submission per ≤10,000 URLs: body {"host","key","keyLocation","urlList"},
/// Content-Type application/json; charset=utf-8. Stops at the first answer
/// that is not Accepted; returns how many URLs (from the front) were
/// accepted and the stopping answer, if any.
///
/// Sends nothing when `book` says not to (`Book::may_send`): the answer is
/// then the book's own `Wait` or `Park`, which `Book::record` leaves as it
/// is. No URLs, no POST: `(0, None)`.
pub fn submit(ep: &Endpoint, urls: &[String], book: &Book, now: Secs) -> (usize, Option<Answer>) {
    if let Some(held) = book.holding(now) {
        return (0, Some(held));
    }
    let agent = agent(CONNECT_TIMEOUT, GLOBAL_TIMEOUT);
    let secrets = Secrets::new([ep.key.as_str()]);
    let mut accepted = 0;
    for batch in urls.chunks(MAX_URLS_PER_POST) {
        match post(&agent, ep, batch, book, now, &secrets) {
            Answer::Accepted => accepted += batch.len(),
            stop => return (accepted, Some(stop)),
        }
    }
    (accepted, None)
}

/// One POST of `batch`, and what its answer means.
fn post(
    agent: &ureq::Agent,
    ep: &Endpoint,
    batch: &[String],
    book: &Book,
    now: Secs,
    secrets: &Secrets,
) -> Answer {
    let body = json!({
        "host": ep.host,
        "key": ep.key,
        "keyLocation": ep.key_location,
        "urlList": batch,
    })
    .to_string();
    let mut response = match agent.post(&ep.url).content_type(CONTENT_TYPE).send(&body) {
        Ok(r) => r,
        Err(e) => {
            return Answer::Retry(secrets.error(format_args!(
                "cannot reach IndexNow at {}: {}",
                ep.url,
                secrets.shown(&unreachable(&e))
            )));
        }
    };
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let reply = Reply {
        status: response.status().as_u16(),
        retry_after: header("retry-after").and_then(|v| retry_after(&v, now)),
        location: header("location").map(|l| secrets.shown(&l)),
        said: response
            .body_mut()
            .with_config()
            .limit(MAX_REPLY_BYTES)
            .read_to_string()
            .ok()
            .and_then(|b| said(&b, secrets)),
    };
    meaning(&reply, ep, book, now, secrets)
}

/// What an answer holds that its meaning depends on.
struct Reply {
    status: u16,
    /// When `Retry-After` says to send again.
    retry_after: Option<Secs>,
    /// A redirect's target, fit to show.
    location: Option<String>,
    /// What the server said, fit to show.
    said: Option<String>,
}

/// The meaning of `reply` (see the header).
fn meaning(reply: &Reply, ep: &Endpoint, book: &Book, now: Secs, secrets: &Secrets) -> Answer {
    let s = reply.status;
    let says = reply
        .said
        .as_deref()
        .map_or_else(String::new, |d| format!("; IndexNow says: {d}"));
    let park = |why: String| Answer::Park(format!("{why}{says}"));
    match s {
        200 | 202 => Answer::Accepted,
        // Not in the protocol, but received all the same.
        201..=299 => Answer::Accepted,
        429 => {
            let (until, how) = match reply.retry_after {
                Some(t) => (bounded(t.max(now), now), "as Retry-After says"),
                None => (now + backoff(book.failures + 1), "backing off"),
            };
            Answer::Wait {
                until,
                reason: format!("429 too many requests, {how}"),
            }
        }
        400 => park("400 bad request: IndexNow found the submission malformed".into()),
        403 => park(format!(
            "403 key not valid: IndexNow found no key file at keyLocation, or one \
             holding a different key (check {})",
            without_key(&ep.key_location, &ep.key)
        )),
        422 => park(format!(
            "422 unprocessable: a URL is not on host {} or not under keyLocation's \
             directory, or the key is not of the protocol's form",
            ep.host
        )),
        404 => park(format!(
            "404 not found: no IndexNow endpoint at {} (check indexnow-url)",
            ep.url
        )),
        // A timeout or "too early" of the request itself: worth another try.
        408 | 425 => retry(secrets, format_args!("IndexNow answered {s}{says}")),
        401..=499 => park(format!("{s}: IndexNow refused the submission")),
        300..=399 => park(format!(
            "{s} redirect to {}: indexnow-url must be the endpoint itself",
            reply.location.as_deref().unwrap_or("nowhere given")
        )),
        500..=599 => retry(
            secrets,
            format_args!("IndexNow server error ({s}), will retry next run{says}"),
        ),
        _ => retry(
            secrets,
            format_args!("unexpected answer {s} from IndexNow{says}"),
        ),
    }
}

fn retry(secrets: &Secrets, msg: fmt::Arguments) -> Answer {
    Answer::Retry(secrets.error(msg))
}

/// The reason in an answer's body: the JSON `message` (Bing's, Yandex's) or
/// a short plain text; never an HTML page.
fn said(body: &str, secrets: &Secrets) -> Option<String> {
    let text = match serde_json::from_str::<Value>(body) {
        Ok(v) => v["message"].as_str()?.to_owned(),
        Err(_) if !body.trim_start().starts_with('<') => body.to_owned(),
        Err(_) => return None,
    };
    Some(secrets.shown(&text)).filter(|s| !s.is_empty())
}

/// Why there was no answer, in words: refused, timed out, or no such host.
fn unreachable(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::HostNotFound => "host not found (DNS)".into(),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".into()
        }
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => "timed out".into(),
        other => other.to_string(),
    }
}

/// When a `Retry-After` value says to send again: delay seconds, or an
/// HTTP-date (RFC 9110's IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`);
/// `None` for anything else, which falls back to the backoff.
pub fn retry_after(value: &str, now: Secs) -> Option<Secs> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(now.saturating_add(secs.min(i64::MAX as u64) as i64));
    }
    static PARSER: jiff::fmt::rfc2822::DateTimeParser = jiff::fmt::rfc2822::DateTimeParser::new();
    value
        .ends_with("GMT")
        .then(|| PARSER.parse_timestamp(value).ok())
        .flatten()
        .map(|t| t.as_second())
}

/// The wait after the `n`-th failure in a row (n ≥ 1): 15 minutes,
/// doubling, at most 24 hours.
pub fn backoff(n: u32) -> Secs {
    let doublings = n.saturating_sub(1).min(16);
    (FIRST_BACKOFF << doublings).min(MAX_BACKOFF)
}

/// Why IndexNow is held until the admin acts, and since when.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Parking {
    pub reason: String,
    pub at: Secs,
}

/// Bookkeeping kept in the state (serde, Default, skip empty): when
/// sending may resume, the failures in a row for the backoff and the last
/// one's reason, and a parking.
#[derive(Serialize, Deserialize, Default, Clone, Debug, PartialEq, Eq)]
pub struct Book {
    /// Send nothing before this (a 429, or the backoff after failures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_until: Option<Secs>,
    /// Answers in a row that were neither accepted nor a parking.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: u32,
    /// Why the last of them failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Held until `unpark`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parked: Option<Parking>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Book {
    /// Whether a POST may go out at `now`: not parked, and any wait over
    /// (a saved wait counts for at most `MAX_BLOCK` from now).
    pub fn may_send(&self, now: Secs) -> bool {
        self.holding(now).is_none()
    }

    /// What holds sending at `now`, as the answer that `submit` gives.
    fn holding(&self, now: Secs) -> Option<Answer> {
        if let Some(p) = &self.parked {
            return Some(Answer::Park(p.reason.clone()));
        }
        let until = bounded(self.blocked_until?, now);
        (until > now).then(|| Answer::Wait {
            until,
            reason: self.reason.clone().unwrap_or_default(),
        })
    }

    /// Takes in what `submit` returned at `now`: `None` (everything
    /// accepted) or `Accepted` ends a run of failures; `Wait` blocks until
    /// its time; `Retry` counts a failure and blocks for the backoff from
    /// the second in a row; `Park` parks (keeping the first parking's
    /// time). The answer `submit` gives without sending, which repeats the
    /// book, changes nothing but a saved wait longer than `MAX_BLOCK`,
    /// which it bounds.
    pub fn record(&mut self, answer: Option<&Answer>, now: Secs) {
        match answer {
            None | Some(Answer::Accepted) => {
                self.blocked_until = None;
                self.failures = 0;
                self.reason = None;
            }
            Some(Answer::Wait { until, reason }) => {
                // The book's own wait, as `submit` repeats it: saved as
                // bounded, so a wait of centuries lifts within `MAX_BLOCK`.
                if self
                    .blocked_until
                    .is_some_and(|b| bounded(b, now) == *until)
                {
                    self.blocked_until = Some(*until);
                    return;
                }
                self.failures = self.failures.saturating_add(1);
                self.blocked_until = Some(*until);
                self.reason = Some(reason.clone());
            }
            Some(Answer::Retry(e)) => {
                self.failures = self.failures.saturating_add(1);
                self.blocked_until = (self.failures >= 2).then(|| now + backoff(self.failures - 1));
                self.reason = Some(e.to_string());
            }
            Some(Answer::Park(reason)) => {
                self.blocked_until = None;
                self.failures = 0;
                self.reason = None;
                if self.parked.is_none() {
                    self.parked = Some(Parking {
                        reason: reason.clone(),
                        at: now,
                    });
                }
            }
        }
    }

    /// Lets sending resume after a parking (the admin fixed its cause).
    pub fn unpark(&mut self) {
        self.parked = None;
    }

    /// One line for `status` and `outbox`, or `None` when nothing holds or
    /// failed: "parked since …: 403 key not valid: …", "waiting until …
    /// (429 too many requests, …)", or "retrying on the next run (1 failure
    /// in a row): cannot reach IndexNow at …".
    pub fn describe(&self, now: Secs) -> Option<String> {
        if let Some(p) = &self.parked {
            return Some(format!(
                "parked since {}: {}",
                format_rfc3339(p.at),
                p.reason
            ));
        }
        let reason = self.reason.as_deref().unwrap_or("no reason recorded");
        match self.blocked_until.map(|t| bounded(t, now)) {
            Some(until) if until > now => Some(format!(
                "waiting until {} ({reason})",
                format_rfc3339(until)
            )),
            _ if self.failures > 0 => Some(format!(
                "retrying on the next run ({} failure{} in a row): {reason}",
                self.failures,
                if self.failures == 1 { "" } else { "s" }
            )),
            _ => None,
        }
    }
}

/// For verify-credentials --sink site: fetch <key_url> (i.e. <url><key>.txt)
/// and compare its body (trimmed) with the key: Ok("key file at … matches")
/// or an error that says whether it could not be reached (connection
/// refused, timeout, DNS), answered with another status than 200, or holds
/// a different key. No message quotes the key: its URL shows `<key>`.
pub fn check_key(key_url: &str, key: &str) -> Result<String> {
    let secrets = Secrets::new([key]);
    let shown = without_key(key_url, key);
    let fail = |msg: String| secrets.error(format_args!("the IndexNow key file at {shown} {msg}"));
    let mut response = agent(CONNECT_TIMEOUT, GLOBAL_TIMEOUT)
        .get(key_url)
        .call()
        .map_err(|e| {
            fail(format!(
                "cannot be reached: {}",
                secrets.shown(&unreachable(&e))
            ))
        })?;
    let status = response.status().as_u16();
    match status {
        200 => {}
        300..=399 => {
            return Err(fail(format!(
                "answered {status}, a redirect: it must be served directly, with 200"
            )));
        }
        404 => {
            return Err(fail(
                "answered 404 (not found): is the key file written, and dir served at url?".into(),
            ));
        }
        _ => return Err(fail(format!("answered {status}, not 200 with the key"))),
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_REPLY_BYTES)
        .read_to_string()
        .map_err(|e| {
            fail(format!(
                "could not be read: {}",
                secrets.shown(&e.to_string())
            ))
        })?;
    match body.trim() {
        b if b == key => Ok(format!("key file at {shown} matches")),
        "" => Err(fail("is empty".into())),
        _ => Err(fail("holds a different key".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::anyhow;
    use proptest::prelude::*;

    const NOW: Secs = 1_796_644_800; // 2026-12-07T12:00:00Z

    #[test]
    fn keys_of_the_protocols_form() {
        assert!(valid_key("abcd1234"));
        assert!(valid_key(&"aZ9-".repeat(32)));
        for bad in [
            "abc1234",
            "",
            "abcd 1234",
            "abcd_1234",
            "abcdé123",
            "abcd1234\n",
        ] {
            assert!(!valid_key(bad), "{bad:?}");
        }
        assert!(!valid_key(&"a".repeat(129)));
    }

    #[test]
    fn an_endpoint_names_the_sites_host_and_its_key_file() {
        let ep = Endpoint::new(
            DEFAULT_URL,
            "https://u:p@example.org:8443/attacks/",
            "k3y-0123",
        );
        assert_eq!(ep.host, "example.org");
        assert_eq!(
            ep.key_location,
            "https://u:p@example.org:8443/attacks/k3y-0123.txt"
        );
        let shown = format!("{ep:?}");
        assert!(
            !shown.contains("k3y-0123") && shown.contains("/attacks/<key>.txt"),
            "{shown}"
        );
        assert_eq!(host_name("http://[::1]:8080/a/"), "[::1]");
        assert_eq!(host_name("http://[::1]/a/"), "[::1]");
        assert_eq!(host_name("https://example.org/"), "example.org");
    }

    #[test]
    fn backoff_doubles_from_15_minutes_to_a_day() {
        let waits: Vec<Secs> = (1..=9).map(backoff).collect();
        assert_eq!(
            waits,
            [
                900, 1800, 3600, 7200, 14_400, 28_800, 57_600, 86_400, 86_400
            ]
        );
        assert_eq!(backoff(0), 900);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn retry_after_in_seconds_or_an_http_date() {
        assert_eq!(retry_after("120", NOW), Some(NOW + 120));
        assert_eq!(retry_after(" 0 ", NOW), Some(NOW));
        assert_eq!(
            retry_after("Mon, 07 Dec 2026 13:00:00 GMT", NOW),
            Some(NOW + 3600)
        );
        for bad in [
            "-5",
            "soon",
            "2026-12-07T13:00:00Z",
            "Mon, 07 Dec 2026 13:00:00 +0100",
            "",
        ] {
            assert_eq!(retry_after(bad, NOW), None, "{bad:?}");
        }
        assert!(retry_after(&u64::MAX.to_string(), NOW).is_some());
        assert_eq!(retry_after(&http_date(NOW + 5), NOW), Some(NOW + 5));
    }

    #[test]
    fn no_answer_is_said_in_words() {
        use std::io::{Error, ErrorKind};
        let refused = ureq::Error::Io(Error::from(ErrorKind::ConnectionRefused));
        assert_eq!(unreachable(&refused), "connection refused");
        assert_eq!(
            unreachable(&ureq::Error::HostNotFound),
            "host not found (DNS)"
        );
        let late = ureq::Error::Timeout(ureq::Timeout::Global);
        assert!(
            unreachable(&late).starts_with("timed out"),
            "{}",
            unreachable(&late)
        );
        let late = ureq::Error::Io(Error::from(ErrorKind::TimedOut));
        assert_eq!(unreachable(&late), "timed out");
    }

    fn reply(status: u16) -> Reply {
        Reply {
            status,
            retry_after: None,
            location: None,
            said: None,
        }
    }

    fn mean(r: &Reply, book: &Book) -> Answer {
        let ep = Endpoint::new(DEFAULT_URL, "https://example.org/a/", "secretkey-42");
        meaning(r, &ep, book, NOW, &Secrets::new(["secretkey-42"]))
    }

    #[test]
    fn every_status_has_its_meaning() {
        let book = Book::default();
        for s in [200, 202, 204] {
            assert!(matches!(mean(&reply(s), &book), Answer::Accepted), "{s}");
        }
        for s in [400, 401, 403, 404, 410, 413, 422, 301, 308] {
            match mean(&reply(s), &book) {
                Answer::Park(why) => {
                    assert!(why.starts_with(&s.to_string()), "{s}: {why}");
                    assert!(!why.contains("secretkey-42"), "{why}");
                }
                other => panic!("{s}: {other:?}"),
            }
        }
        for s in [408, 425, 500, 502, 503, 599, 600, 101] {
            assert!(matches!(mean(&reply(s), &book), Answer::Retry(_)), "{s}");
        }
        let Answer::Park(why) = mean(&reply(403), &book) else {
            panic!()
        };
        assert!(why.contains("https://example.org/a/<key>.txt"), "{why}");
    }

    #[test]
    fn a_429_waits_for_retry_after_else_the_backoff() {
        let book = Book {
            failures: 2,
            ..Book::default()
        };
        let Answer::Wait { until, .. } = mean(&reply(429), &book) else {
            panic!()
        };
        assert_eq!(until, NOW + backoff(3));
        let given = Reply {
            retry_after: Some(NOW + 600),
            ..reply(429)
        };
        let Answer::Wait { until, reason } = mean(&given, &book) else {
            panic!()
        };
        assert_eq!(
            (until, reason.as_str()),
            (NOW + 600, "429 too many requests, as Retry-After says")
        );
        let far = Reply {
            retry_after: Some(NOW + 1_000_000),
            ..reply(429)
        };
        let Answer::Wait { until, .. } = mean(&far, &book) else {
            panic!()
        };
        assert_eq!(until, NOW + crate::sink::ratelimit::MAX_BLOCK);
    }

    #[test]
    fn the_book_counts_failures_waits_and_parks() {
        let mut book = Book::default();
        assert!(book.may_send(NOW) && book.describe(NOW).is_none());
        book.record(Some(&Answer::Retry(anyhow!("cannot reach IndexNow"))), NOW);
        assert!(book.may_send(NOW), "the first failure: the next run tries");
        assert_eq!(
            book.describe(NOW).unwrap(),
            "retrying on the next run (1 failure in a row): cannot reach IndexNow"
        );
        book.record(Some(&Answer::Retry(anyhow!("503"))), NOW);
        assert_eq!(book.blocked_until, Some(NOW + FIRST_BACKOFF));
        assert!(!book.may_send(NOW + FIRST_BACKOFF - 1));
        assert!(book.may_send(NOW + FIRST_BACKOFF));
        book.record(Some(&Answer::Retry(anyhow!("503"))), NOW);
        assert_eq!(book.blocked_until, Some(NOW + 2 * FIRST_BACKOFF));

        // What submit says while held changes nothing.
        let held = book.holding(NOW).unwrap();
        let before = book.clone();
        book.record(Some(&held), NOW);
        assert_eq!(book, before);
        assert_eq!(
            book.describe(NOW).unwrap(),
            "waiting until 2026-12-07T12:30:00Z (503)"
        );

        book.record(None, NOW);
        assert_eq!(book, Book::default());

        book.record(Some(&Answer::Park("403 key not valid".into())), NOW);
        book.record(Some(&Answer::Park("422".into())), NOW + 60);
        assert!(!book.may_send(NOW + 86_400 * 365));
        assert_eq!(
            book.describe(NOW + 60).unwrap(),
            "parked since 2026-12-07T12:00:00Z: 403 key not valid"
        );
        book.record(Some(&Answer::Accepted), NOW);
        assert!(book.parked.is_some(), "only unpark lifts a parking");
        book.unpark();
        assert!(book.may_send(NOW));
    }

    #[test]
    fn a_saved_wait_is_bounded_and_an_empty_book_saves_as_nothing() {
        let book = Book {
            blocked_until: Some(NOW * 1000),
            reason: Some("429".into()),
            failures: 1,
            ..Book::default()
        };
        let bound = NOW + crate::sink::ratelimit::MAX_BLOCK;
        let mut held = book.clone();
        let (_, answer) = submit(
            &Endpoint::new("http://127.0.0.1:9/", "http://x/", "k"),
            &["u".into()],
            &held,
            NOW,
        );
        held.record(answer.as_ref(), NOW);
        assert_eq!(held.blocked_until, Some(bound), "saved as bounded");
        assert_eq!(held.failures, 1, "and not counted again");
        assert!(!held.may_send(bound - 1));
        assert!(held.may_send(bound));
        assert_eq!(serde_json::to_string(&Book::default()).unwrap(), "{}");
        let back: Book = serde_json::from_str(&serde_json::to_string(&book).unwrap()).unwrap();
        assert_eq!(back, book);
        assert_eq!(serde_json::from_str::<Book>("{}").unwrap(), Book::default());
    }

    #[test]
    fn what_the_server_says_is_shown_without_the_key() {
        let s = Secrets::new(["secretkey-42"]);
        assert_eq!(
            said(r#"{"code":"x","message":"key secretkey-42 not found"}"#, &s).as_deref(),
            Some("key <redacted> not found")
        );
        assert_eq!(said("<html>502</html>", &s), None);
        assert_eq!(said("", &s), None);
        assert_eq!(said("slow down", &s).as_deref(), Some("slow down"));
    }

    fn http_date(t: Secs) -> String {
        let t = jiff::Timestamp::from_second(t).unwrap();
        jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&t)
            .unwrap()
    }

    proptest! {
        /// Whatever a server answers (any status, any text, any
        /// Retry-After), the answer is one of the four, a wait ends within
        /// `MAX_BLOCK`, and no message holds the key, however the server
        /// echoes it.
        #[test]
        fn any_reply_has_a_meaning_without_the_key(
            status in prop_oneof![Just(429u16), 0u16..1000],
            before in ".{0,40}",
            after in ".{0,40}",
            echo in proptest::sample::select(vec![
                "secretkey-42", "SECRETKEY-42", "secretkey%2D42", "secretkey\\u002d42",
            ]),
            retry in proptest::option::of(prop_oneof![
                any::<u64>().prop_map(|n| n.to_string()),
                (0i64..4_000_000_000).prop_map(http_date),
                ".{0,40}".prop_map(String::from),
            ]),
            failures in 0u32..40,
        ) {
            let book = Book { failures, ..Book::default() };
            let text = format!("{before}{echo}{after}");
            let secrets = Secrets::new(["secretkey-42"]);
            let r = Reply {
                status,
                retry_after: retry.and_then(|v| retry_after(&v, NOW)),
                location: Some(secrets.shown(&text)),
                said: said(&serde_json::json!({ "message": text }).to_string(), &secrets),
            };
            let message = match mean(&r, &book) {
                Answer::Accepted => String::new(),
                Answer::Wait { until, reason } => {
                    prop_assert!(until >= NOW);
                    prop_assert!(until <= NOW + crate::sink::ratelimit::MAX_BLOCK);
                    reason
                }
                Answer::Park(why) => why,
                Answer::Retry(e) => format!("{e:#}"),
            };
            prop_assert!(
                !message.to_ascii_lowercase().contains("secretkey"),
                "{}", message
            );
        }
    }
}
