//! Mastodon: the `[mastodon]` section and its `MASTODON_TOKEN`, statuses
//! with `POST /api/v1/statuses`, the instance's character limit from
//! `GET /api/v2/instance`.

use anyhow::{Result, bail};
use serde::Deserialize;
use serde_json::{Value, json};

use super::http::{Api, Payload, base_url};
use super::outbox::Post;
use super::seam::{Outcome, Sink, idempotency_key};
use super::section::{Env, Missing, Part, Secret, env_secret};
use crate::clock::Secs;

/// Mastodon's stock limit, used when the instance does not say.
pub const MASTODON_DEFAULT_LIMIT: usize = 500;

/// The token's environment variable, which wins over the file's.
pub const TOKEN_VAR: &str = "MASTODON_TOKEN";

/// `[mastodon]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MastodonConfig {
    /// e.g. `https://mastodon.social`
    pub instance: Option<String>,
    pub token: Option<Secret>,
    /// public (the default), unlisted, private or direct.
    pub visibility: Option<String>,
    /// The instance's character limit; asked from `GET /api/v2/instance` when unset.
    pub max_characters: Option<usize>,
}

impl Part for Option<MastodonConfig> {
    fn has_secrets(&self) -> bool {
        self.as_ref().is_some_and(|c| c.token.is_some())
    }

    /// `MASTODON_TOKEN` in place of the section's token.
    fn with_env(&mut self, env: Env) {
        if let (Some(v), Some(c)) = (env_secret(env, TOKEN_VAR), self.as_mut()) {
            c.token = Some(v);
        }
    }

    fn base_url(&self) -> Option<(&'static str, &str)> {
        let url = self.as_ref()?.instance.as_deref()?;
        Some(("[mastodon] instance", url))
    }

    fn is_set(&self) -> bool {
        self.is_some()
    }

    fn build(&self, now: Secs) -> Result<Box<dyn Sink>> {
        Ok(Box::new(MastodonSink::new(self.as_ref(), now)?))
    }
}

/// Posts statuses with `POST /api/v1/statuses`.
pub struct MastodonSink {
    api: Api,
    token: String,
    visibility: String,
    /// Known once asked (or configured).
    limit: Option<usize>,
}

impl MastodonSink {
    /// Builds the sink from its `[mastodon]` section; `now` is the run's
    /// time, for relative rate-limit resets.
    pub fn new(c: Option<&MastodonConfig>, now: Secs) -> Result<MastodonSink> {
        let none = MastodonConfig::default();
        let c = c.unwrap_or(&none);
        let mut missing = Missing::default();
        let instance = missing.text(&c.instance, "mastodon", "instance");
        let token = missing.secret(&c.token, "mastodon", "token", TOKEN_VAR);
        missing.done()?;
        let instance = base_url("mastodon", "instance", instance)?;
        let token = token.to_owned();
        let visibility = c.visibility.as_deref().unwrap_or("public").trim();
        if !["public", "unlisted", "private", "direct"].contains(&visibility) {
            bail!(
                "[mastodon] visibility must be public, unlisted, private or direct, not {visibility:?}"
            );
        }
        if c.max_characters == Some(0) {
            bail!("[mastodon] max-characters must be at least 1");
        }
        Ok(MastodonSink {
            api: Api::new("Mastodon", "mastodon", &instance, vec![token.clone()], now),
            token,
            visibility: visibility.to_owned(),
            limit: c.max_characters,
        })
    }
}

impl MastodonSink {
    /// The instance's limit: `configuration.statuses.max_characters` from
    /// `GET /api/v2/instance`, asked once per run; 500 when it does not say.
    /// Asked with the token: an instance in limited-federation mode answers
    /// 401 to anyone else.
    fn limit(&mut self) -> usize {
        if let Some(limit) = self.limit {
            return limit;
        }
        let url = format!("{}/api/v2/instance", self.api.base);
        let auth = format!("Bearer {}", self.token);
        let limit = self
            .api
            .call(&url, &[("Authorization", &auth)], Payload::Get)
            .ok()
            .filter(|a| a.status == 200)
            .and_then(|a| serde_json::from_str::<Value>(a.text()).ok())
            .and_then(|v| v["configuration"]["statuses"]["max_characters"].as_u64())
            .filter(|n| *n > 0)
            .map_or(MASTODON_DEFAULT_LIMIT, |n| n as usize);
        self.limit = Some(limit);
        limit
    }
}

impl Sink for MastodonSink {
    fn name(&self) -> &'static str {
        "mastodon"
    }

    /// `GET /api/v1/accounts/verify_credentials` with the token.
    fn check(&mut self) -> Result<String> {
        let url = format!("{}/api/v1/accounts/verify_credentials", self.api.base);
        let auth = format!("Bearer {}", self.token);
        let a = self
            .api
            .call(&url, &[("Authorization", &auth)], Payload::Get)?;
        let acct = serde_json::from_str::<Value>(a.text())
            .ok()
            .and_then(|v| v["acct"].as_str().map(str::to_owned));
        match (a.status, acct) {
            (200, Some(acct)) => Ok(format!(
                "@{} on {}",
                self.api.secrets.shown(&acct),
                self.api.origin
            )),
            _ => Err(self.api.status_error(
                &a,
                "the token check",
                "check token in [mastodon] (or MASTODON_TOKEN)",
            )),
        }
    }

    fn publish(&mut self, post: &Post) -> Outcome {
        let limit = self.limit();
        let len = post.text.chars().count();
        if len > limit {
            // The instance will refuse it on every run: park it (`outbox
            // retry` once max-characters or the instance allows it), and let
            // the rest of the queue go on.
            return Outcome::Refused(self.api.error(format_args!(
                "the post has {len} characters, more than the Mastodon instance's limit of {limit}"
            )));
        }
        let url = format!("{}/api/v1/statuses", self.api.base);
        let auth = format!("Bearer {}", self.token);
        let key = idempotency_key(self.name(), post);
        let body = json!({
            "status": post.text,
            "visibility": self.visibility,
            "language": "en",
        })
        .to_string();
        let headers = [("Authorization", auth.as_str()), ("Idempotency-Key", &key)];
        let a = match self.api.call(&url, &headers, Payload::Json(body)) {
            Ok(a) => a,
            Err(e) => return Outcome::Failed(e),
        };
        match a.status {
            200..=299 => {
                let id = serde_json::from_str::<Value>(a.text())
                    .ok()
                    .and_then(|v| v["id"].as_str().map(str::to_owned));
                match id {
                    Some(_) => Outcome::Delivered,
                    // The same Idempotency-Key makes the retry a no-op if it went through.
                    None => Outcome::Failed(self.api.error(format_args!(
                        "Mastodon accepted the status ({}) but its reply could not be understood",
                        a.status
                    ))),
                }
            }
            429 => self.api.rate_limited(&a),
            _ => self.api.failure(
                &a,
                "the status",
                "check token in [mastodon]: it must be valid and have the write:statuses scope",
            ),
        }
    }
}
