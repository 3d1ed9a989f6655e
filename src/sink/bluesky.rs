//! Bluesky: the `[bluesky]` section and its `BLUESKY_APP_PASSWORD`, posts
//! with `com.atproto.repo.putRecord` on the account's PDS, after one
//! `createSession` per run.
//!
//! A retry must never make a second post, even when the first attempt's
//! reply was lost after the PDS committed it. So each post's record key is
//! a TID derived from its outbox batch (its time and number), and its
//! `createdAt` is the batch's, saved with it: a retry writes the very same
//! record under the same key. `putRecord` with an existing key replaces the
//! record with itself, where `createRecord` would answer 500.

use anyhow::{Result, anyhow};
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{Api, Payload, base_url};
use super::outbox::Post;
use super::seam::{Outcome, Sink};
use super::section::{Env, Missing, Part, Secret, env_secret};
use crate::clock::{Secs, format_rfc3339};

/// Bluesky's limit is 300 graphemes; a text of at most 300 chars has at most
/// 300 graphemes, so counting chars never lets a too-long post through.
pub const BLUESKY_LIMIT: usize = 300;
pub const BLUESKY_DEFAULT_SERVICE: &str = "https://bsky.social";

/// The app password's environment variable, which wins over the file's.
pub const APP_PASSWORD_VAR: &str = "BLUESKY_APP_PASSWORD";

/// `[bluesky]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BlueskyConfig {
    pub handle: Option<String>,
    pub app_password: Option<Secret>,
    /// The PDS, default `https://bsky.social`.
    pub service: Option<String>,
}

impl Part for Option<BlueskyConfig> {
    fn has_secrets(&self) -> bool {
        self.as_ref().is_some_and(|c| c.app_password.is_some())
    }

    /// `BLUESKY_APP_PASSWORD` in place of the section's app password.
    fn with_env(&mut self, env: Env) {
        if let (Some(v), Some(c)) = (env_secret(env, APP_PASSWORD_VAR), self.as_mut()) {
            c.app_password = Some(v);
        }
    }

    fn base_url(&self) -> Option<(&'static str, &str)> {
        let url = self.as_ref()?.service.as_deref()?;
        Some(("[bluesky] service", url))
    }

    fn is_set(&self) -> bool {
        self.is_some()
    }

    fn build(&self, now: Secs) -> Result<Box<dyn Sink>> {
        Ok(Box::new(BlueskySink::new(self.as_ref(), now)?))
    }
}

struct Session {
    did: String,
    access_jwt: String,
}

/// Posts with `com.atproto.repo.putRecord`, after logging in once per run.
pub struct BlueskySink {
    api: Api,
    handle: String,
    password: String,
    /// Logged in lazily, on the first post of the run: createSession has a low daily limit.
    session: Option<Session>,
}

impl BlueskySink {
    /// Builds the sink from its `[bluesky]` section; `now` is the run's
    /// time, for `createdAt` and relative rate-limit resets.
    pub fn new(c: Option<&BlueskyConfig>, now: Secs) -> Result<BlueskySink> {
        let none = BlueskyConfig::default();
        let c = c.unwrap_or(&none);
        let mut missing = Missing::default();
        let handle = missing.text(&c.handle, "bluesky", "handle");
        let password = missing.secret(&c.app_password, "bluesky", "app-password", APP_PASSWORD_VAR);
        missing.done()?;
        let handle = handle.trim_start_matches('@');
        let password = password.to_owned();
        let service = c.service.as_deref().unwrap_or(BLUESKY_DEFAULT_SERVICE);
        let service = base_url("bluesky", "service", service)?;
        Ok(BlueskySink {
            api: Api::new("Bluesky", "bluesky", &service, vec![password.clone()], now),
            handle: handle.to_owned(),
            password,
            session: None,
        })
    }
}

impl BlueskySink {
    fn login(&mut self) -> std::result::Result<(), Outcome> {
        if self.session.is_some() {
            return Ok(());
        }
        let url = format!("{}/xrpc/com.atproto.server.createSession", self.api.base);
        let body = json!({ "identifier": self.handle, "password": self.password }).to_string();
        let a = self
            .api
            .call(&url, &[], Payload::Json(body))
            .map_err(Outcome::Failed)?;
        match a.status {
            200 => {
                let v: Value = serde_json::from_str(a.text()).unwrap_or_default();
                match (v["did"].as_str(), v["accessJwt"].as_str()) {
                    (Some(did), Some(jwt)) if !did.is_empty() && !jwt.is_empty() => {
                        self.api.secrets.add(jwt);
                        self.session = Some(Session {
                            did: did.to_owned(),
                            access_jwt: jwt.to_owned(),
                        });
                        Ok(())
                    }
                    _ => Err(Outcome::Failed(self.api.error(
                        "Bluesky's createSession reply could not be understood (no did or accessJwt)",
                    ))),
                }
            }
            429 => Err(self.api.rate_limited(&a)),
            _ => Err(Outcome::Failed(self.api.status_error(
                &a,
                "the login",
                "check handle and app-password in [bluesky]",
            ))),
        }
    }
}

/// The base32-sortable alphabet of TIDs.
const TID_ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";

/// The post's record key: a TID (13 characters of base32-sortable, 64 bits:
/// a zero bit, 53 bits of microseconds since 1970, 10 bits of clock id).
/// The microseconds are the batch's creation second plus its number (mod a
/// million), the clock id the number's next bits: a batch always gets the
/// same key, two batches never share one.
pub fn record_key(post: &Post) -> String {
    let micros = (post.created.max(0) as u64)
        .saturating_mul(1_000_000)
        .saturating_add(post.batch % 1_000_000)
        & ((1 << 53) - 1);
    let clock_id = (post.batch / 1_000_000) & 0x3ff;
    let tid = (micros << 10) | clock_id;
    (0..13)
        .rev()
        .map(|i| TID_ALPHABET[((tid >> (i * 5)) & 31) as usize] as char)
        .collect()
}

impl Sink for BlueskySink {
    fn name(&self) -> &'static str {
        "bluesky"
    }

    /// A login (`createSession`), as a post would start.
    fn check(&mut self) -> Result<String> {
        match self.login() {
            Ok(()) => {
                let did = self.session.as_ref().map_or("", |s| s.did.as_str());
                Ok(format!(
                    "@{} ({})",
                    self.handle,
                    self.api.secrets.shown(did)
                ))
            }
            Err(Outcome::Failed(e) | Outcome::Refused(e)) => Err(e),
            Err(Outcome::RateLimited(l)) => Err(anyhow!(
                "Bluesky refused the login for now: {} is used up",
                l.what
            )),
            Err(other) => Err(anyhow!("Bluesky login: {other:?}")),
        }
    }

    fn publish(&mut self, post: &Post) -> Outcome {
        let len = post.text.chars().count();
        if len > BLUESKY_LIMIT {
            // Refused on every run: park it, and let the queue go on.
            return Outcome::Refused(self.api.error(format_args!(
                "the post has {len} characters, more than Bluesky's limit of {BLUESKY_LIMIT}"
            )));
        }
        if let Err(outcome) = self.login() {
            return outcome;
        }
        let Some(session) = &self.session else {
            return Outcome::Failed(anyhow!("Bluesky: no session"));
        };
        let url = format!("{}/xrpc/com.atproto.repo.putRecord", self.api.base);
        let auth = format!("Bearer {}", session.access_jwt);
        let body = json!({
            "repo": session.did,
            "collection": "app.bsky.feed.post",
            "rkey": record_key(post),
            "record": {
                "$type": "app.bsky.feed.post",
                "text": post.text,
                "createdAt": format_rfc3339(post.created),
                "langs": ["en"],
            },
        })
        .to_string();
        let a = match self
            .api
            .call(&url, &[("Authorization", &auth)], Payload::Json(body))
        {
            Ok(a) => a,
            Err(e) => return Outcome::Failed(e),
        };
        match a.status {
            // The record exists; its uri and cid are of no further use.
            200..=299 => Outcome::Delivered,
            429 => self.api.rate_limited(&a),
            _ => self.api.failure(
                &a,
                "the post",
                "the session was refused; check handle and app-password in [bluesky]",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::samples::post;

    /// What the atproto spec's TID syntax allows.
    fn is_tid(s: &str) -> bool {
        s.len() == 13
            && s.bytes().all(|b| TID_ALPHABET.contains(&b))
            && b"234567abcdefghij".contains(&s.as_bytes()[0])
    }

    #[test]
    fn a_post_over_the_limit_is_parked_without_a_request() {
        // Nothing listens on port 9: a login attempt would end as Failed.
        let c: BlueskyConfig = toml::from_str(
            "handle = \"a.b\"\napp-password = \"pw\"\nservice = \"http://127.0.0.1:9\"\n",
        )
        .unwrap();
        let mut sink = BlueskySink::new(Some(&c), 0).unwrap();
        let outcome = sink.publish(&post(1, &"x".repeat(BLUESKY_LIMIT + 1)));
        assert!(
            matches!(&outcome, Outcome::Refused(e) if format!("{e:#}").contains("more than Bluesky's limit")),
            "{outcome:?}"
        );
    }

    #[test]
    fn record_keys_are_tids_fixed_by_the_batch() {
        let p = post(7, "hello");
        let key = record_key(&p);
        assert!(is_tid(&key), "{key}");
        assert_eq!(key, record_key(&post(7, "hello")), "the same on a retry");
        assert_eq!(key, record_key(&post(7, "other text")), "the batch decides");
        assert_ne!(key, record_key(&post(8, "hello")));
        let later = Post {
            created: p.created + 1,
            ..p.clone()
        };
        assert!(record_key(&later) > key, "TIDs sort by time");
        // 2026-11-26T12:00:00Z and batch 7: 1795694400000007 µs, clock id 0.
        let tid: u64 = 1_795_694_400_000_007 << 10;
        let decoded = key.bytes().fold(0u64, |n, b| {
            n << 5 | TID_ALPHABET.iter().position(|&a| a == b).unwrap() as u64
        });
        assert_eq!(decoded, tid);
        for batch in [0, 999_999, 1_000_000, u64::MAX] {
            assert!(is_tid(&record_key(&post(batch, "x"))), "{batch}");
        }
    }
}
