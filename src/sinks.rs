//! More places to tell the world: Mastodon, Bluesky, AbuseIPDB and a generic
//! JSON webhook. Each is optional and configured by its own section of the
//! options file; each has its own outbox entries (see `publish`), so one
//! failing never re-posts on another.
//!
//! Every request has connect and global timeouts, and every status is
//! handled explicitly: 2xx delivers, 429 is `Outcome::RateLimited` with the
//! reset the service gave, anything else (and no answer at all) is
//! `Outcome::Failed`, which keeps the queue for the next run. Secrets (the
//! token, app password, API key, session, webhook URL and headers) are never
//! in a message or in Debug output: every message leaving this module is
//! scrubbed of them first.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cli::SinkName;
use crate::clock::{Secs, format_rfc3339, parse_rfc3339};
use crate::publish::{AttackerJson, Outcome, Post, Sink};
use crate::render::{Announcement, span};
use crate::source::fnv1a;
use crate::x::{agent, sanitize};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const GLOBAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Replies are small; a cap keeps a misbehaving endpoint from eating memory.
const MAX_REPLY_BYTES: u64 = 64 * 1024;

/// Mastodon's stock limit, used when the instance does not say.
pub const MASTODON_DEFAULT_LIMIT: usize = 500;
/// Bluesky's limit is 300 graphemes; a text of at most 300 chars has at most
/// 300 graphemes, so counting chars never lets a too-long post through.
pub const BLUESKY_LIMIT: usize = 300;
pub const BLUESKY_DEFAULT_SERVICE: &str = "https://bsky.social";
pub const ABUSEIPDB_DEFAULT_API: &str = "https://api.abuseipdb.com";

/// A value from the options file that must never be shown.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

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

/// `[bluesky]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BlueskyConfig {
    pub handle: Option<String>,
    pub app_password: Option<Secret>,
    /// The PDS, default `https://bsky.social`.
    pub service: Option<String>,
}

/// `[abuseipdb]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AbuseIpDbConfig {
    pub key: Option<Secret>,
    /// Default `https://api.abuseipdb.com`.
    pub api_url: Option<String>,
}

/// `[webhook]`. The URL is a secret: Slack's and Discord's carry their token.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: Option<Secret>,
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
}

/// The options file's sink sections.
#[derive(Debug, Clone, Default)]
pub struct SinkSettings {
    pub mastodon: Option<MastodonConfig>,
    pub bluesky: Option<BlueskyConfig>,
    pub abuseipdb: Option<AbuseIpDbConfig>,
    pub webhook: Option<WebhookConfig>,
}

impl SinkSettings {
    /// Whether a section holds a secret, which makes the file subject to the 0600 rule.
    pub fn has_secrets(&self) -> bool {
        self.mastodon.as_ref().is_some_and(|m| m.token.is_some())
            || self
                .bluesky
                .as_ref()
                .is_some_and(|b| b.app_password.is_some())
            || self.abuseipdb.as_ref().is_some_and(|a| a.key.is_some())
            || self.webhook.is_some()
    }

    /// Checks that every sink named here is fully configured, naming what is missing.
    pub fn check(&self, names: &[SinkName]) -> Result<()> {
        for &name in names {
            if !matches!(name, SinkName::Stdout | SinkName::Twitter) {
                make(name, self, 0)?;
            }
        }
        Ok(())
    }
}

fn section<'a, T>(s: &'a Option<T>, name: &str, keys: &str) -> Result<&'a T> {
    s.as_ref().with_context(|| {
        format!("--sink {name} needs a [{name}] section in the --config file, with {keys}")
    })
}

fn text<'a>(v: &'a Option<String>, section: &str, key: &str) -> Result<&'a str> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .with_context(|| format!("[{section}] in the --config file has no {key}"))
}

fn secret<'a>(v: &'a Option<Secret>, section: &str, key: &str) -> Result<&'a str> {
    v.as_ref()
        .map(|s| s.expose().trim())
        .filter(|s| !s.is_empty())
        .with_context(|| format!("[{section}] in the --config file has no {key}"))
}

/// An API base URL: http(s)://host[:port][/prefix], without a trailing slash.
fn base_url(section: &str, key: &str, value: &str) -> Result<String> {
    let api = value.trim().trim_end_matches('/');
    let host = api
        .strip_prefix("https://")
        .or_else(|| api.strip_prefix("http://"));
    match host {
        Some(h) if !h.is_empty() && !h.starts_with('/') && !h.contains(['?', '#', '@', ' ']) => {
            Ok(api.to_owned())
        }
        _ => bail!("[{section}] {key} must be http(s)://host[:port], not {value:?}"),
    }
}

/// scheme://host[:port] of `url`, without any user info: safe to show.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    format!("{scheme}://{host}")
}

/// Builds the sink `name` (one of this module's) from its section; `now` is
/// the run's time, for `createdAt` and relative rate-limit resets.
pub fn make(name: SinkName, s: &SinkSettings, now: Secs) -> Result<Box<dyn Sink>> {
    Ok(match name {
        SinkName::Mastodon => {
            let c = section(&s.mastodon, "mastodon", "instance and token")?;
            let instance = base_url(
                "mastodon",
                "instance",
                text(&c.instance, "mastodon", "instance")?,
            )?;
            let token = secret(&c.token, "mastodon", "token")?.to_owned();
            let visibility = c.visibility.as_deref().unwrap_or("public").trim();
            if !["public", "unlisted", "private", "direct"].contains(&visibility) {
                bail!(
                    "[mastodon] visibility must be public, unlisted, private or direct, not {visibility:?}"
                );
            }
            if c.max_characters == Some(0) {
                bail!("[mastodon] max-characters must be at least 1");
            }
            Box::new(MastodonSink {
                api: Api::new("Mastodon", "mastodon", &instance, vec![token.clone()], now),
                token,
                visibility: visibility.to_owned(),
                limit: c.max_characters,
            })
        }
        SinkName::Bluesky => {
            let c = section(&s.bluesky, "bluesky", "handle and app-password")?;
            let handle = text(&c.handle, "bluesky", "handle")?.trim_start_matches('@');
            let password = secret(&c.app_password, "bluesky", "app-password")?.to_owned();
            let service = c.service.as_deref().unwrap_or(BLUESKY_DEFAULT_SERVICE);
            let service = base_url("bluesky", "service", service)?;
            Box::new(BlueskySink {
                api: Api::new("Bluesky", "bluesky", &service, vec![password.clone()], now),
                handle: handle.to_owned(),
                password,
                session: None,
                now,
            })
        }
        SinkName::Abuseipdb => {
            let c = section(&s.abuseipdb, "abuseipdb", "key")?;
            let key = secret(&c.key, "abuseipdb", "key")?.to_owned();
            let api = c.api_url.as_deref().unwrap_or(ABUSEIPDB_DEFAULT_API);
            let api = base_url("abuseipdb", "api-url", api)?;
            Box::new(AbuseIpDbSink {
                api: Api::new("AbuseIPDB", "abuseipdb", &api, vec![key.clone()], now),
                key,
            })
        }
        SinkName::Webhook => {
            let c = section(&s.webhook, "webhook", "url")?;
            let url = secret(&c.url, "webhook", "url")?.to_owned();
            // The URL may carry a token (Slack, Discord): never quote it.
            let shown = origin(&url);
            let host = shown.split_once("://").map_or("", |(_, h)| h);
            let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
            if !scheme_ok || host.is_empty() || url.contains(char::is_whitespace) {
                bail!("[webhook] url must be an http(s):// URL");
            }
            let mut secrets = vec![url.clone()];
            let (authority, rest) = url.split_once("://").map_or(("", ""), |(_, r)| {
                r.split_at(r.find(['/', '?', '#']).unwrap_or(r.len()))
            });
            let user_info = authority.rsplit_once('@').map_or("", |(u, _)| u);
            for part in [user_info, rest.trim_start_matches('/')] {
                if part.len() >= 4 {
                    secrets.push(part.to_owned());
                }
            }
            let mut headers = Vec::new();
            for (k, v) in &c.headers {
                if ureq::http::HeaderName::from_bytes(k.as_bytes()).is_err() {
                    bail!("[webhook] headers: {k:?} is not a valid header name");
                }
                if ureq::http::HeaderValue::from_str(v.expose()).is_err() {
                    bail!("[webhook] headers: the value of {k:?} is not a valid header value");
                }
                // Short values ("yes", "5") are settings, not secrets; hiding them would garble messages.
                if v.expose().len() >= 6 {
                    secrets.push(v.expose().to_owned());
                }
                headers.push((k.clone(), v.expose().to_owned()));
            }
            Box::new(WebhookSink {
                api: Api::new("webhook", "webhook", &url, secrets, now),
                headers,
            })
        }
        SinkName::Stdout | SinkName::Twitter => bail!("{name:?} is not built here"),
    })
}

/// One remote service: where it is, an agent with timeouts, and the secrets
/// to keep out of every message.
struct Api {
    agent: ureq::Agent,
    /// For messages: "Mastodon", "AbuseIPDB", …
    service: &'static str,
    /// The options file section.
    section: &'static str,
    base: String,
    /// `base` without path or user info: what messages show.
    origin: String,
    secrets: Vec<String>,
    now: Secs,
}

enum Payload {
    Get,
    Json(String),
    Form(Vec<(&'static str, String)>),
}

struct Answer {
    status: u16,
    /// When a rate limit ends (Unix seconds), from the reply's headers.
    reset: Option<Secs>,
    body: Result<String, String>,
}

impl Answer {
    fn text(&self) -> &str {
        self.body.as_deref().unwrap_or("")
    }
}

impl Api {
    fn new(
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
            secrets: secrets.into_iter().filter(|s| !s.is_empty()).collect(),
            now,
        }
    }

    /// `text` with every secret replaced.
    fn scrub(&self, text: &str) -> String {
        self.secrets
            .iter()
            .fold(text.to_owned(), |t, s| t.replace(s.as_str(), "<redacted>"))
    }

    /// The only way errors leave this module: scrubbed.
    fn error(&self, msg: impl fmt::Display) -> anyhow::Error {
        anyhow!(self.scrub(&msg.to_string()))
    }

    fn call(&self, url: &str, headers: &[(&str, &str)], payload: Payload) -> Result<Answer> {
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
        let unreachable = |e: ureq::Error| {
            self.error(format_args!(
                "cannot reach {} at {}: {e}",
                self.service, self.origin
            ))
        };
        let mut response = sent.map_err(unreachable)?;
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
            body,
        })
    }

    /// Why `what` failed with this answer; `denied` explains a 401 or 403.
    fn status_error(&self, a: &Answer, what: &str, denied: &str) -> anyhow::Error {
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
    /// `message`, AbuseIPDB's `errors[0].detail`, or a short plain-text body.
    fn detail(&self, body: &str) -> Option<String> {
        let body = self.scrub(body);
        let text = match serde_json::from_str::<Value>(&body) {
            Ok(v) => {
                let s = |v: &Value| v.as_str().map(str::to_owned);
                s(&v["errors"][0]["detail"])
                    .or_else(|| s(&v["message"]))
                    .or_else(|| s(&v["error_description"]))
                    .or_else(|| s(&v["error"]))
                    .or_else(|| s(&v["detail"]))?
            }
            Err(_) if !body.trim_start().starts_with('<') => body,
            Err(_) => return None,
        };
        Some(sanitize(&text)).filter(|s| !s.is_empty())
    }
}

/// When a 429 ends: `Retry-After` seconds, else `X-RateLimit-Reset` or
/// `RateLimit-Reset` as Unix seconds (AbuseIPDB, Bluesky), seconds from now
/// (the IETF draft) or an ISO 8601 time (Mastodon).
fn reset_at(headers: &ureq::http::HeaderMap, now: Secs) -> Option<Secs> {
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

/// The same for the same post, whatever run sends it: a retry after a crash
/// is recognised by the server.
pub fn idempotency_key(sink: &str, post: &Post) -> String {
    let seed = format!("{sink}\n{}\n{}", post.batch, post.text);
    format!("tweet-attacks-{:016x}", fnv1a(seed.as_bytes()))
}

fn rate_limited(a: &Answer) -> Outcome {
    Outcome::RateLimited { reset: a.reset }
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
    /// The instance's limit: `configuration.statuses.max_characters` from
    /// `GET /api/v2/instance`, asked once per run; 500 when it does not say.
    fn limit(&mut self) -> usize {
        if let Some(limit) = self.limit {
            return limit;
        }
        let url = format!("{}/api/v2/instance", self.api.base);
        let limit = self
            .api
            .call(&url, &[], Payload::Get)
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

    fn publish(&mut self, post: &Post) -> Outcome {
        let limit = self.limit();
        let len = post.text.chars().count();
        if len > limit {
            return Outcome::Failed(self.api.error(format_args!(
                "the post has {len} characters, more than the Mastodon instance's limit of {limit}"
            )));
        }
        let url = format!("{}/api/v1/statuses", self.api.base);
        let auth = format!("Bearer {}", self.token);
        let key = idempotency_key(self.name(), post);
        let body = json!({ "status": post.text, "visibility": self.visibility }).to_string();
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
            429 => rate_limited(&a),
            _ => Outcome::Failed(self.api.status_error(
                &a,
                "the status",
                "check token in [mastodon]: it must be valid and have the write:statuses scope",
            )),
        }
    }
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

/// Reports each address with `POST /api/v2/report`.
pub struct AbuseIpDbSink {
    api: Api,
    key: String,
}

/// AbuseIPDB categories: 18 brute force, 22 SSH, 5 FTP brute force.
pub fn categories(services: &[String]) -> String {
    let mut ids: Vec<u8> = services
        .iter()
        .flat_map(|s| match s.as_str() {
            "sshd" => &[18, 22][..],
            "vsftpd" => &[5, 18][..],
            _ => &[18][..],
        })
        .copied()
        .collect();
    if ids.is_empty() {
        ids.push(18);
    }
    ids.sort_unstable();
    ids.dedup();
    ids.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
}

fn minute(t: Secs) -> String {
    // "2026-11-26T10:15:01Z" → "2026-11-26 10:15"
    format_rfc3339(t)[..16].replace('T', " ")
}

/// The report's comment: services, tries and time span only. Never a user
/// name, host name or anything else from the log lines.
pub fn comment(a: &Announcement) -> String {
    let services: Vec<&str> = a
        .services
        .iter()
        .map(|s| match s.as_str() {
            "sshd" => "SSH",
            "vsftpd" => "FTP",
            _ => "login",
        })
        .collect();
    let (first, last) = (minute(a.first), minute(a.last));
    // The end's date only when it differs from the start's.
    let last = match first[..10] == last[..10] {
        true => &last[11..],
        false => &last[..],
    };
    format!(
        "{} brute force: {} tries in {} ({first} to {last} UTC). Reported by tweet-attacks.",
        services.join("+"),
        a.tries,
        span(a.last - a.first),
    )
}

/// Whether AbuseIPDB takes reports of `ip`: not a private, shared (CGNAT),
/// link-local or loopback address, which it would refuse on every retry.
pub fn reportable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_unique_local()
                || v6.is_unicast_link_local())
        }
    }
}

/// AbuseIPDB's answer to a second report of one address within 15 minutes:
/// "You can only report the same IP address (`…`) once in 15 minutes."
fn already_reported(body: &str) -> bool {
    let body = body.to_lowercase();
    body.contains("once in 15 minutes") || body.contains("same ip address")
}

impl Sink for AbuseIpDbSink {
    fn name(&self) -> &'static str {
        "abuseipdb"
    }

    /// One report per public address in the post. A failure part-way keeps the
    /// whole post queued; the retry's reports of the addresses already done
    /// within 15 minutes answer "already reported", which counts as delivered.
    fn publish(&mut self, post: &Post) -> Outcome {
        let url = format!("{}/api/v2/report", self.api.base);
        let headers = [("Key", self.key.as_str()), ("Accept", "application/json")];
        // A network is reported by one address seen in it: AbuseIPDB takes no prefixes.
        for a in post.subjects.iter().filter(|a| reportable(a.address())) {
            let form = vec![
                ("ip", a.address().to_string()),
                ("categories", categories(&a.services)),
                ("comment", comment(a)),
                ("timestamp", format_rfc3339(a.last)),
            ];
            let answer = match self.api.call(&url, &headers, Payload::Form(form)) {
                Ok(answer) => answer,
                Err(e) => return Outcome::Failed(e),
            };
            match answer.status {
                200..=299 => {}
                429 if already_reported(answer.text()) => {}
                429 => return rate_limited(&answer),
                _ => {
                    return Outcome::Failed(self.api.status_error(
                        &answer,
                        &format!("the report of {}", a.ip),
                        "check key in [abuseipdb] (an APIv2 key)",
                    ));
                }
            }
        }
        Outcome::Delivered
    }
}

/// The webhook's JSON body; its schema is documented in the README.
#[derive(Debug, Serialize)]
pub struct WebhookPayload<'a> {
    pub text: &'a str,
    pub attackers: Vec<AttackerJson<'a>>,
    pub source: &'static str,
    pub version: u32,
}

impl<'a> WebhookPayload<'a> {
    pub fn new(post: &'a Post) -> WebhookPayload<'a> {
        WebhookPayload {
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

impl Sink for WebhookSink {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn publish(&mut self, post: &Post) -> Outcome {
        let body = match serde_json::to_string(&WebhookPayload::new(post)) {
            Ok(body) => body,
            Err(e) => return Outcome::Failed(anyhow!("cannot encode the webhook payload: {e}")),
        };
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let a = match self.api.call(&self.api.base, &headers, Payload::Json(body)) {
            Ok(a) => a,
            Err(e) => return Outcome::Failed(e),
        };
        match a.status {
            200..=299 => Outcome::Delivered,
            429 => rate_limited(&a),
            _ => Outcome::Failed(self.api.status_error(
                &a,
                "the post",
                "check url and headers in [webhook]",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Instant;

    fn subject(services: &[&str]) -> Announcement {
        Announcement {
            ip: "203.0.113.5".parse().unwrap(),
            tries: 9,
            users: vec!["admin".into(), "oracle".into()],
            users_more: 1,
            services: services.iter().map(|s| s.to_string()).collect(),
            first: 1_795_683_600,
            last: 1_795_683_720,
            servers: 1,
            prefix: None,
            seen: None,
        }
    }

    fn post(batch: u64, text: &str) -> Post {
        Post {
            text: text.into(),
            subjects: vec![subject(&["sshd"])],
            batch,
        }
    }

    #[test]
    fn categories_per_service_merged() {
        let s = |v: &[&str]| categories(&subject(v).services);
        assert_eq!(s(&["sshd"]), "18,22");
        assert_eq!(s(&["vsftpd"]), "5,18");
        assert_eq!(s(&["sshd", "vsftpd"]), "5,18,22");
        assert_eq!(s(&[]), "18");
    }

    #[test]
    fn only_public_addresses_are_reportable() {
        for ip in [
            "203.0.113.5",
            "8.8.8.8",
            "100.128.0.1",
            "2001:db8::1",
            "2a01::1",
        ] {
            assert!(reportable(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "10.1.2.3",
            "172.16.0.9",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.1.1",
            "127.0.0.1",
            "fd00::1",
            "fe80::1",
            "::1",
        ] {
            assert!(!reportable(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn comment_holds_no_names() {
        let a = subject(&["sshd", "vsftpd"]);
        let c = comment(&a);
        assert_eq!(
            c,
            "SSH+FTP brute force: 9 tries in 2 min (2026-11-26 09:00 to 09:02 UTC). Reported by tweet-attacks."
        );
        assert!(!c.contains("admin") && !c.contains("oracle"), "{c}");
    }

    #[test]
    fn idempotency_key_is_stable_and_specific() {
        let k = idempotency_key("mastodon", &post(3, "hello"));
        assert_eq!(k, idempotency_key("mastodon", &post(3, "hello")));
        assert_ne!(k, idempotency_key("mastodon", &post(4, "hello")));
        assert_ne!(k, idempotency_key("mastodon", &post(3, "hello!")));
        assert_ne!(k, idempotency_key("webhook", &post(3, "hello")));
        assert!(k.starts_with("tweet-attacks-") && k.len() == 30, "{k}");
    }

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

    #[test]
    fn details_are_scrubbed_before_they_are_cut() {
        let secret = "SECRET-0123456789";
        let api = Api::new("X", "x", "http://127.0.0.1:9", vec![secret.into()], 0);
        let long = format!("{}{secret}", "y".repeat(crate::x::MAX_DETAIL_CHARS - 5));
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

    #[test]
    fn settings_debug_redacts_every_secret() {
        let s = SinkSettings {
            mastodon: Some(MastodonConfig {
                instance: Some("https://m.example".into()),
                token: Some(Secret("TOK-1".into())),
                ..Default::default()
            }),
            bluesky: Some(BlueskyConfig {
                handle: Some("me.bsky.social".into()),
                app_password: Some(Secret("PW-2".into())),
                service: None,
            }),
            abuseipdb: Some(AbuseIpDbConfig {
                key: Some(Secret("KEY-3".into())),
                api_url: None,
            }),
            webhook: Some(WebhookConfig {
                url: Some(Secret("https://hooks.example/HOOK-4".into())),
                headers: [("Authorization".to_string(), Secret("HDR-5".into()))].into(),
            }),
        };
        let shown = format!("{s:?} {s:#?}");
        for secret in ["TOK-1", "PW-2", "KEY-3", "HOOK-4", "HDR-5"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("me.bsky.social") && shown.contains("<redacted>"));
        assert!(s.has_secrets());
        assert!(!SinkSettings::default().has_secrets());
    }

    #[test]
    fn check_names_what_is_missing() {
        let err = |s: &SinkSettings, name| format!("{:#}", s.check(&[name]).unwrap_err());
        let none = SinkSettings::default();
        assert!(none.check(&[SinkName::Stdout, SinkName::Twitter]).is_ok());
        let e = err(&none, SinkName::Mastodon);
        assert!(
            e.contains("[mastodon] section") && e.contains("token"),
            "{e}"
        );
        let e = err(&none, SinkName::Webhook);
        assert!(e.contains("[webhook] section"), "{e}");
        let s = SinkSettings {
            mastodon: Some(MastodonConfig {
                instance: Some("https://m.example".into()),
                ..Default::default()
            }),
            bluesky: Some(BlueskyConfig {
                app_password: Some(Secret("pw".into())),
                ..Default::default()
            }),
            abuseipdb: Some(AbuseIpDbConfig {
                key: Some(Secret(" ".into())),
                api_url: None,
            }),
            webhook: Some(WebhookConfig {
                url: Some(Secret("ftp://h/SECRETPATH".into())),
                headers: BTreeMap::new(),
            }),
        };
        assert_eq!(
            err(&s, SinkName::Mastodon),
            "[mastodon] in the --config file has no token"
        );
        assert_eq!(
            err(&s, SinkName::Bluesky),
            "[bluesky] in the --config file has no handle"
        );
        assert_eq!(
            err(&s, SinkName::Abuseipdb),
            "[abuseipdb] in the --config file has no key"
        );
        let e = err(&s, SinkName::Webhook);
        assert!(e.contains("http(s)://") && !e.contains("SECRETPATH"), "{e}");
    }

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
