//! Bluesky: posts with `com.atproto.repo.createRecord` on the account's PDS,
//! after one `createSession` per run.

use anyhow::{Result, anyhow};
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{Api, Payload, base_url, rate_limited};
use super::settings::{Secret, SinkSettings, secret, section, text};
use super::{Outcome, Post, Sink};
use crate::clock::{Secs, format_rfc3339};

/// Bluesky's limit is 300 graphemes; a text of at most 300 chars has at most
/// 300 graphemes, so counting chars never lets a too-long post through.
pub const BLUESKY_LIMIT: usize = 300;
pub const BLUESKY_DEFAULT_SERVICE: &str = "https://bsky.social";

/// `[bluesky]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BlueskyConfig {
    pub handle: Option<String>,
    pub app_password: Option<Secret>,
    /// The PDS, default `https://bsky.social`.
    pub service: Option<String>,
}

struct Session {
    did: String,
    access_jwt: String,
}

/// Posts with `com.atproto.repo.createRecord`, after logging in once per run.
pub struct BlueskySink {
    api: Api,
    handle: String,
    password: String,
    /// Logged in lazily, on the first post of the run: createSession has a low daily limit.
    session: Option<Session>,
    now: Secs,
}

impl BlueskySink {
    /// Builds the sink from its `[bluesky]` section; `now` is the run's
    /// time, for `createdAt` and relative rate-limit resets.
    pub fn from_settings(s: &SinkSettings, now: Secs) -> Result<BlueskySink> {
        let c = section(&s.bluesky, "bluesky", "handle and app-password")?;
        let handle = text(&c.handle, "bluesky", "handle")?.trim_start_matches('@');
        let password = secret(&c.app_password, "bluesky", "app-password")?.to_owned();
        let service = c.service.as_deref().unwrap_or(BLUESKY_DEFAULT_SERVICE);
        let service = base_url("bluesky", "service", service)?;
        Ok(BlueskySink {
            api: Api::new("Bluesky", "bluesky", &service, vec![password.clone()], now),
            handle: handle.to_owned(),
            password,
            session: None,
            now,
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
                        self.api.secrets.push(jwt.to_owned());
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
            429 => Err(rate_limited(&a)),
            _ => Err(Outcome::Failed(self.api.status_error(
                &a,
                "the login",
                "check handle and app-password in [bluesky]",
            ))),
        }
    }
}

impl Sink for BlueskySink {
    fn name(&self) -> &'static str {
        "bluesky"
    }

    fn publish(&mut self, post: &Post) -> Outcome {
        let len = post.text.chars().count();
        if len > BLUESKY_LIMIT {
            return Outcome::Failed(self.api.error(format_args!(
                "the post has {len} characters, more than Bluesky's limit of {BLUESKY_LIMIT}"
            )));
        }
        if let Err(outcome) = self.login() {
            return outcome;
        }
        let Some(session) = &self.session else {
            return Outcome::Failed(anyhow!("Bluesky: no session"));
        };
        let url = format!("{}/xrpc/com.atproto.repo.createRecord", self.api.base);
        let auth = format!("Bearer {}", session.access_jwt);
        let body = json!({
            "repo": session.did,
            "collection": "app.bsky.feed.post",
            "record": {
                "$type": "app.bsky.feed.post",
                "text": post.text,
                "createdAt": format_rfc3339(self.now),
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
            429 => rate_limited(&a),
            _ => Outcome::Failed(self.api.status_error(
                &a,
                "the post",
                "the session was refused; check handle and app-password in [bluesky]",
            )),
        }
    }
}
