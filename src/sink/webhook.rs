//! A generic JSON webhook (Slack, Discord, ntfy, a SIEM): the `[webhook]`
//! section and its `WEBHOOK_URL`, one POST per post.

use anyhow::{Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::http::{Api, Payload, origin};
use super::outbox::Post;
use super::seam::{Outcome, Sink, idempotency_key};
use super::section::{Env, Missing, Part, Secret, env_secret};
use super::stdout::AttackerJson;
use crate::clock::Secs;

/// The URL's environment variable, which wins over the file's.
pub const URL_VAR: &str = "WEBHOOK_URL";

/// `[webhook]`. The URL is a secret: Slack's and Discord's carry their token.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: Option<Secret>,
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
}

impl Part for Option<WebhookConfig> {
    /// The section is its URL, a secret.
    fn has_secrets(&self) -> bool {
        self.is_some()
    }

    /// `WEBHOOK_URL` in place of the section's URL: the URL is all it
    /// needs, so the variable alone makes the section.
    fn with_env(&mut self, env: Env) {
        if let Some(v) = env_secret(env, URL_VAR) {
            self.get_or_insert_with(Default::default).url = Some(v);
        }
    }

    fn is_set(&self) -> bool {
        self.is_some()
    }

    fn build(&self, now: Secs) -> Result<Box<dyn Sink>> {
        Ok(Box::new(WebhookSink::new(self.as_ref(), now)?))
    }
}

/// The webhook's JSON body; its schema is documented in doc/REFERENCE.md.
#[derive(Debug, Serialize)]
pub struct WebhookPayload<'a> {
    /// The same for every attempt at this post (and in the `Idempotency-Key`
    /// header): a receiver drops an id it has seen.
    pub id: String,
    pub text: &'a str,
    pub attackers: Vec<AttackerJson<'a>>,
    pub source: &'static str,
    pub version: u32,
}

impl<'a> WebhookPayload<'a> {
    pub fn new(post: &'a Post) -> WebhookPayload<'a> {
        WebhookPayload {
            id: idempotency_key("webhook", post),
            text: &post.text,
            attackers: post.subjects.iter().map(AttackerJson::new).collect(),
            source: "tweet-attacks",
            version: 1,
        }
    }
}

/// A JSON POST to any URL (Slack, Discord, ntfy, a SIEM).
pub struct WebhookSink {
    api: Api,
    headers: Vec<(String, String)>,
}

impl WebhookSink {
    /// Builds the sink from its `[webhook]` section; `now` is the run's
    /// time, for relative rate-limit resets.
    pub fn new(c: Option<&WebhookConfig>, now: Secs) -> Result<WebhookSink> {
        let none = WebhookConfig::default();
        let c = c.unwrap_or(&none);
        let mut missing = Missing::default();
        let url = missing.secret(&c.url, "webhook", "url", URL_VAR).to_owned();
        missing.done()?;
        // The URL may carry a token (Slack, Discord): never quote it.
        let shown = origin(&url);
        let host = shown.split_once("://").map_or("", |(_, h)| h);
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        if !scheme_ok || host.is_empty() || url.contains(char::is_whitespace) {
            bail!("[webhook] url must be an http(s):// URL");
        }
        // Its user info, path segments and query values are secrets to the `Api`.
        let mut secrets = Vec::new();
        let mut headers = Vec::new();
        for (k, v) in &c.headers {
            if ureq::http::HeaderName::from_bytes(k.as_bytes()).is_err() {
                bail!("[webhook] headers: {k:?} is not a valid header name");
            }
            if ureq::http::HeaderValue::from_str(v.expose()).is_err() {
                bail!("[webhook] headers: the value of {k:?} is not a valid header value");
            }
            // Short values ("yes", "5") are settings, not secrets; hiding them would garble messages.
            if v.expose().len() >= super::scrub::MIN_PIECE {
                secrets.push(v.expose().to_owned());
            }
            headers.push((k.clone(), v.expose().to_owned()));
        }
        Ok(WebhookSink {
            api: Api::new("webhook", "webhook", &url, secrets, now),
            headers,
        })
    }
}

impl Sink for WebhookSink {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn check(&mut self) -> Result<String> {
        Ok(format!(
            "not checked: a webhook ({}) cannot be checked without posting to it",
            self.api.origin
        ))
    }

    fn publish(&mut self, post: &Post) -> Outcome {
        let payload = WebhookPayload::new(post);
        let body = match serde_json::to_string(&payload) {
            Ok(body) => body,
            Err(e) => return Outcome::Failed(anyhow!("cannot encode the webhook payload: {e}")),
        };
        let mut headers: Vec<(&str, &str)> = vec![("Idempotency-Key", &payload.id)];
        for (k, v) in &self.headers {
            // A configured Idempotency-Key replaces ours.
            if k.eq_ignore_ascii_case("idempotency-key") {
                headers.remove(0);
            }
            headers.push((k.as_str(), v.as_str()));
        }
        let a = match self.api.call(&self.api.base, &headers, Payload::Json(body)) {
            Ok(a) => a,
            Err(e) => return Outcome::Failed(e),
        };
        match a.status {
            200..=299 => Outcome::Delivered,
            429 => self.api.rate_limited(&a),
            _ => self
                .api
                .failure(&a, "the post", "check url and headers in [webhook]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::http::agent;
    use crate::sink::samples::post;
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    #[test]
    fn a_silent_server_times_out() {
        // Accepts connections (the kernel's backlog) but never answers.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut api = Api::new("webhook", "webhook", &base, vec![], 0);
        api.agent = agent(Duration::from_secs(1), Duration::from_secs(1));
        let mut sink = WebhookSink {
            api,
            headers: vec![],
        };
        let started = Instant::now();
        let outcome = sink.publish(&post(1, "hello"));
        assert!(started.elapsed() < Duration::from_secs(5));
        match outcome {
            Outcome::Failed(e) => {
                let msg = format!("{e:#}");
                assert!(
                    msg.starts_with(&format!("cannot reach webhook at {base}: ")),
                    "{msg}"
                );
                assert!(msg.contains("timeout"), "{msg}");
            }
            other => panic!("expected Failed, got {other:?}"),
        }
        drop(listener);
    }
}
