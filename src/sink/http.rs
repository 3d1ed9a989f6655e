//! The one HTTP client every HTTP sink, X included, goes through: the agent
//! (timeouts, no redirects, statuses handled by the caller), one remote
//! service (`Api`) with the secrets to keep out of its messages, and the
//! common mapping of its answers to `Outcome`s.
//!
//! Every request has connect and global timeouts, and every status is
//! handled explicitly: 2xx delivers, 429 is `Outcome::RateLimited` with the
//! reset the service gave, a refusal of the post itself (see `permanent`)
//! is `Outcome::Refused`, which parks it, and anything else (and no answer
//! at all) is `Outcome::Failed`, which keeps the queue for the next run. X
//! reads its own limits from the answer's headers and words its own
//! refusals (x.rs), by the same rules. Secrets (the token, app password,
//! API key, session, X's four credentials, the secret parts of the URLs,
//! the webhook's headers) are never in a message or in Debug output: every
//! message leaving an `Api` is scrubbed of them first (see `scrub`).

use std::fmt;
use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::Value;

use super::ratelimit::Limit;
use super::ratelimit::reset_at;
use super::scrub::Secrets;
use super::seam::Outcome;
use crate::clock::Secs;

pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const GLOBAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Replies are small; a cap keeps a misbehaving endpoint from eating memory.
pub(crate) const MAX_REPLY_BYTES: u64 = 64 * 1024;

/// The HTTP agent every sink uses: explicit timeouts, statuses handled by the
/// caller, no redirects.
pub(crate) fn agent(connect: Duration, global: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(connect))
        .timeout_global(Some(global))
        .http_status_as_error(false)
        // A redirect would replay the signed header or token against another URL; report it instead.
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(concat!("tweet-attacks/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// `value` as an API base URL, http(s)://host[:port][/prefix] without a
/// trailing slash; `None` if it is not one, or carries a user name or password.
pub fn valid_base_url(value: &str) -> Option<&str> {
    let api = value.trim().trim_end_matches('/');
    let host = api
        .strip_prefix("https://")
        .or_else(|| api.strip_prefix("http://"))?;
    (!host.is_empty() && !host.starts_with('/') && !host.contains(['?', '#', '@', ' ']))
        .then_some(api)
}

/// An API base URL from the options file's `[section] key`.
pub(super) fn base_url(section: &str, key: &str, value: &str) -> Result<String> {
    match valid_base_url(value) {
        Some(api) => Ok(api.to_owned()),
        // Never quoted: a misplaced secret, or user:password@, must not be shown.
        None => bail!("[{section}] {key} must be http(s)://host[:port] (the value is not shown)"),
    }
}

/// scheme://host[:port] of `url`, without any user info: safe to show.
pub(super) fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    format!("{scheme}://{host}")
}

/// One remote service: where it is, an agent with timeouts, and the secrets
/// to keep out of every message.
pub(super) struct Api {
    pub(super) agent: ureq::Agent,
    /// For messages: "Mastodon", "AbuseIPDB", …
    pub(super) service: &'static str,
    /// The options file section.
    pub(super) section: &'static str,
    pub(super) base: String,
    /// `base` without path or user info: what messages show.
    pub(super) origin: String,
    /// What "cannot reach" names: the service at `origin`.
    pub(super) reached_as: String,
    pub(super) secrets: Secrets,
    pub(super) now: Secs,
}

pub(super) enum Payload {
    Get,
    Json(String),
    Form(Vec<(&'static str, String)>),
}

pub(super) struct Answer {
    pub(super) status: u16,
    /// When a rate limit ends (Unix seconds), from the reply's headers.
    pub(super) reset: Option<Secs>,
    /// For a service's own rate-limit headers (X's).
    pub(super) headers: ureq::http::HeaderMap,
    pub(super) body: Result<String, String>,
}

impl Answer {
    pub(super) fn text(&self) -> &str {
        self.body.as_deref().unwrap_or("")
    }
}

impl Api {
    pub(super) fn new(
        service: &'static str,
        section: &'static str,
        base: &str,
        secrets: Vec<String>,
        now: Secs,
    ) -> Api {
        Api {
            agent: agent(CONNECT_TIMEOUT, GLOBAL_TIMEOUT),
            service,
            section,
            base: base.to_owned(),
            origin: origin(base),
            reached_as: format!("{service} at {}", origin(base)),
            secrets: {
                let mut s = Secrets::new(secrets);
                s.add_url(base);
                s
            },
            now,
        }
    }

    /// The only way errors leave this module: scrubbed (see `Secrets::error`).
    pub(super) fn error(&self, msg: impl fmt::Display) -> anyhow::Error {
        self.secrets.error(msg)
    }

    /// No answer, or no whole answer, from the service.
    pub(super) fn unreachable(&self, e: &str) -> anyhow::Error {
        self.error(format_args!(
            "cannot reach {}: {}",
            self.reached_as,
            self.secrets.shown(e)
        ))
    }

    pub(super) fn call(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        payload: Payload,
    ) -> Result<Answer> {
        let sent = match payload {
            Payload::Get => {
                let mut req = self.agent.get(url);
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.call()
            }
            Payload::Json(body) => {
                let mut req = self.agent.post(url);
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.content_type("application/json").send(body)
            }
            Payload::Form(fields) => {
                let mut req = self.agent.post(url);
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.send_form(fields)
            }
        };
        let mut response = sent.map_err(|e| self.unreachable(&e.to_string()))?;
        let reset = reset_at(response.headers(), self.now);
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_REPLY_BYTES)
            .read_to_string()
            .map_err(|e| e.to_string());
        Ok(Answer {
            status: response.status().as_u16(),
            reset,
            headers: response.headers().clone(),
            body,
        })
    }

    /// Why `what` failed with this answer; `denied` explains a 401 or 403.
    pub(super) fn status_error(&self, a: &Answer, what: &str, denied: &str) -> anyhow::Error {
        let (svc, s) = (self.service, a.status);
        let msg = match s {
            401 | 403 => format!("{svc} refused {what} ({s}): {denied}"),
            400 | 422 => format!("{svc} refused {what} as invalid ({s})"),
            404 => format!(
                "{svc} at {} has no such endpoint (404) for {what}: check [{}] in the --config file",
                self.origin, self.section
            ),
            429 => format!("{svc} rate limit hit (429) for {what}"),
            500..=599 => format!("{svc} server error ({s}) for {what}, will retry next run"),
            _ => format!("unexpected reply from {svc} ({s}) for {what}"),
        };
        match self.detail(a.text()) {
            Some(d) => self.error(format_args!("{msg}; {svc} says: {d}")),
            None => self.error(msg),
        }
    }

    /// The human-readable reason in a reply: Mastodon's `error`, Bluesky's
    /// `message`, AbuseIPDB's `errors[0].detail`, or a short plain-text
    /// body; decoded from its JSON before it is scrubbed, so an escaped
    /// echo of a secret is found too.
    pub(super) fn detail(&self, body: &str) -> Option<String> {
        let text = match serde_json::from_str::<Value>(body) {
            Ok(v) => {
                let s = |v: &Value| v.as_str().map(str::to_owned);
                s(&v["errors"][0]["detail"])
                    .or_else(|| s(&v["message"]))
                    .or_else(|| s(&v["error_description"]))
                    .or_else(|| s(&v["error"]))
                    .or_else(|| s(&v["detail"]))?
            }
            Err(_) if !body.trim_start().starts_with('<') => body.to_owned(),
            Err(_) => return None,
        };
        Some(self.secrets.shown(&text)).filter(|s| !s.is_empty())
    }
}

/// Whether a refusal is about the post itself, so that every retry would
/// get it too: any 4xx but a refused credential (401, 403), a timeout (408),
/// "too early" (425) and a rate limit (429).
pub fn permanent(status: u16) -> bool {
    (400..500).contains(&status) && !matches!(status, 401 | 403 | 408 | 425 | 429)
}

impl Api {
    /// The outcome of a reply that did not deliver: a permanent refusal
    /// parks the post, anything else stops the sink (see `status_error`).
    pub(super) fn failure(&self, a: &Answer, what: &str, denied: &str) -> Outcome {
        let e = self.status_error(a, what, denied);
        match permanent(a.status) {
            true => Outcome::Refused(e),
            false => Outcome::Failed(e),
        }
    }

    /// A 429: this service's limit, lifting when its headers say.
    pub(super) fn rate_limited(&self, a: &Answer) -> Outcome {
        Outcome::RateLimited(Limit {
            reset: a.reset,
            what: format!("{}'s rate limit", self.service),
            hold: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::scrub::MAX_DETAIL_CHARS;
    use serde_json::json;

    #[test]
    fn origins_hide_paths_and_user_info() {
        assert_eq!(
            origin("https://hooks.slack.com/services/T0/B0/XXXX"),
            "https://hooks.slack.com"
        );
        assert_eq!(
            origin("https://u:pw@ntfy.example:8443/topic?x=1"),
            "https://ntfy.example:8443"
        );
        assert_eq!(origin("http://127.0.0.1:9"), "http://127.0.0.1:9");
    }

    #[test]
    fn details_are_scrubbed_before_they_are_cut() {
        let secret = "SECRET-0123456789";
        let api = Api::new("X", "x", "http://127.0.0.1:9", vec![secret.into()], 0);
        let long = format!("{}{secret}", "y".repeat(MAX_DETAIL_CHARS - 5));
        let d = api.detail(&json!({ "error": long }).to_string()).unwrap();
        assert!(!d.contains("SECR"), "not even a part: {d}");
        let d = api
            .detail(&format!("bad token {secret}\u{1b}[31m"))
            .unwrap();
        assert_eq!(d, "bad token <redacted> [31m");
        assert_eq!(api.detail("<html>502</html>"), None);
        assert_eq!(
            api.detail(r#"{"errors":[{"detail":"You can only report the same IP address (`1.2.3.4`) once in 15 minutes.","status":429}]}"#)
                .as_deref(),
            Some("You can only report the same IP address (`1.2.3.4`) once in 15 minutes.")
        );
    }
}
