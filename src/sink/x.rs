//! X (Twitter): its options (the `twitter-*` keys of the options file,
//! `--twitter-api-url`, the `TWITTER_*` variables), the API v2 client
//! (OAuth 1.0a signed posting and account check, through the shared
//! `http::Api`), X's rate-limit headers and refusals, and the sink that
//! posts through it.

use std::fmt;
use std::num::NonZeroU64;
use std::time::Duration;

use anyhow::{Context, bail};
use oauth1_request as oauth;
use serde::Deserialize;

use super::http::{Answer, Api, Payload, agent, permanent};
use super::outbox::Post;
use super::ratelimit::{Limit, USAGE_CAP_HOLD};
use super::seam::{Outcome, Sink};
use super::section::{Env, Missing, Part, Secret};
use crate::clock::Secs;

/// X's own API, unless `--twitter-api-url` or the options file says otherwise.
pub const DEFAULT_API: &str = "https://api.x.com";

/// The credentials' environment variables, in `Credentials` field order;
/// each wins over the options file's key of the same name
/// (`twitter-consumer-key`, …).
pub const CREDENTIAL_VARS: [&str; 4] = [
    "TWITTER_CONSUMER_KEY",
    "TWITTER_CONSUMER_SECRET",
    "TWITTER_ACCESS_TOKEN",
    "TWITTER_ACCESS_TOKEN_SECRET",
];

const WRITE_PERMISSION_HINT: &str = "the app lacks write permission (set it to \"Read and write\" \
    in the developer portal, then regenerate the access token and secret)";
const NOT_ENROLLED_HINT: &str = "the app is not attached to a Project with API access \
    (client-not-enrolled): attach it to a Project in the developer portal; its keys stay valid";

/// X's options: the API base URL and the four credentials, as the options
/// file's top-level `twitter-*` keys and the environment give them.
#[derive(Debug, Clone, Default)]
pub struct XConfig {
    /// `--twitter-api-url` or `twitter-api-url`, checked; X's own when unset.
    pub api_url: Option<String>,
    /// In `CREDENTIAL_VARS` order.
    pub credentials: [Option<Secret>; 4],
}

impl Part for XConfig {
    fn has_secrets(&self) -> bool {
        self.credentials.iter().any(Option::is_some)
    }

    /// Each `TWITTER_*` variable that is set in place of the file's key.
    fn with_env(&mut self, env: Env) {
        for (var, slot) in CREDENTIAL_VARS.iter().zip(&mut self.credentials) {
            if let Some(v) = env(var).filter(|v| !v.is_empty()) {
                *slot = Some(Secret::new(v));
            }
        }
    }

    /// Set when all four credentials are. (Its base URL is checked as
    /// `--twitter-api-url`, by that name, wherever it came from.)
    fn is_set(&self) -> bool {
        self.credentials().is_ok()
    }

    /// X's resets are Unix times: the run's time is not needed.
    fn build(&self, _now: Secs) -> anyhow::Result<Box<dyn Sink>> {
        Ok(Box::new(XSink::new(self)?))
    }
}

impl XConfig {
    /// The credentials, each from its environment variable or else the
    /// options file, or every one that is missing (`twitter-consumer-key`
    /// for `TWITTER_CONSUMER_KEY`, …).
    pub fn credentials(&self) -> anyhow::Result<Credentials> {
        let mut values = Vec::with_capacity(4);
        let mut missing = Missing::default();
        for (&var, value) in CREDENTIAL_VARS.iter().zip(&self.credentials) {
            let v = value.as_ref().map_or("", Secret::expose);
            if v.is_empty() {
                let key = var.to_ascii_lowercase().replace('_', "-");
                missing.add(None, &key, Some(var));
            }
            values.push(v.to_owned());
        }
        missing.done()?;
        let [
            consumer_key,
            consumer_secret,
            access_token,
            access_token_secret,
        ]: [String; 4] = values.try_into().expect("four credentials");
        Ok(Credentials {
            consumer_key,
            consumer_secret,
            access_token,
            access_token_secret,
        })
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub consumer_key: String,
    pub consumer_secret: String,
    pub access_token: String,
    pub access_token_secret: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A short prefix is enough to tell which app is configured without leaking the key.
        let key: String = self.consumer_key.chars().take(4).collect();
        f.debug_struct("Credentials")
            .field("consumer_key", &format_args!("{key}…"))
            .field("consumer_secret", &format_args!("<redacted>"))
            .field("access_token", &format_args!("<redacted>"))
            .field("access_token_secret", &format_args!("<redacted>"))
            .finish()
    }
}

/// X's API v2, signed with the account's credentials.
pub struct XClient {
    /// The four credentials and the API URL's secret parts are its secrets,
    /// kept out of every message, as every sink keeps its own (see `scrub`).
    api: Api,
    creds: Credentials,
}

impl fmt::Debug for XClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL's path may hold a secret: only its origin is shown.
        f.debug_struct("XClient")
            .field("api", &self.api.origin)
            .field("creds", &self.creds)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub enum PostOutcome {
    /// `used_up`: the reply's headers say a window has no post left.
    Posted {
        id: String,
        used_up: Option<Limit>,
    },
    Duplicate,
    RateLimited(Limit),
    /// X will never take this text (a 4xx but 401, 402, 403 and 429).
    Refused(anyhow::Error),
    Failed(anyhow::Error),
}

/// One of X's rate-limit windows, from its `*-limit`, `*-remaining` and
/// `*-reset` headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Window {
    limit: Option<u64>,
    remaining: Option<u64>,
    reset: Option<i64>,
}

/// X's limits as a reply states them: the 15-minute window
/// (`x-rate-limit-*`) and the 24-hour caps per user and per app
/// (`x-user-limit-24hour-*`, `x-app-limit-24hour-*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Windows {
    window: Window,
    user_day: Window,
    app_day: Window,
}

impl Windows {
    fn read(headers: &ureq::http::HeaderMap) -> Windows {
        let window = |prefix: &str| {
            let get = |name: &str| {
                headers
                    .get(format!("{prefix}-{name}"))
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<i64>().ok())
            };
            Window {
                limit: get("limit").and_then(|n| u64::try_from(n).ok()),
                remaining: get("remaining").and_then(|n| u64::try_from(n).ok()),
                reset: get("reset"),
            }
        };
        Windows {
            window: window("x-rate-limit"),
            user_day: window("x-user-limit-24hour"),
            app_day: window("x-app-limit-24hour"),
        }
    }

    /// After a post X took: a window it says has no post left (a 24-hour
    /// cap or the 15-minute window), so the next post need not be refused first.
    fn used_up(&self) -> Option<Limit> {
        let mut used = self.days_used();
        if self.window.remaining == Some(0) {
            used.push(("X's 15-minute limit".to_string(), self.window.reset));
        }
        (!used.is_empty()).then(|| Limit {
            hold: None,
            reset: used.iter().filter_map(|(_, r)| *r).max(),
            what: used
                .into_iter()
                .map(|(w, _)| w)
                .collect::<Vec<_>>()
                .join(" and "),
        })
    }

    /// The 24-hour windows with no post left, with their resets.
    fn days_used(&self) -> Vec<(String, Option<i64>)> {
        let mut used = Vec::new();
        for (w, whose) in [(&self.user_day, "account"), (&self.app_day, "app")] {
            if w.remaining == Some(0) {
                let of = w.limit.map(|n| format!(" ({n} posts)")).unwrap_or_default();
                used.push((
                    format!("X's 24-hour post limit for the {whose}{of}"),
                    w.reset,
                ));
            }
        }
        used
    }

    /// What a 429 with these headers and this body waits for: every window
    /// that is used up (the last of them to lift), or the spend cap.
    fn limit(&self, body: &str) -> Limit {
        let capped = problem_type(body).is_some_and(|t| t.ends_with("usage-capped"));
        let mut used = self.days_used();
        if capped {
            used.push((
                "X's usage cap (the spend cap set for the account; raise it in the \
                 developer console; without a reset from X, tried again hourly)"
                    .to_string(),
                None,
            ));
        }
        if used.is_empty() {
            used.push(("X's 15-minute limit".to_string(), self.window.reset));
        }
        let reset = used.iter().filter_map(|(_, r)| *r).max();
        let what: Vec<String> = used.into_iter().map(|(w, _)| w).collect();
        Limit {
            reset,
            what: what.join(" and "),
            // The cap does not lift by the next cron run: try hourly, not every run.
            hold: capped.then_some(USAGE_CAP_HOLD),
        }
    }
}

/// The `type` of X's problem JSON, e.g. `…/2/problems/usage-capped`.
fn problem_type(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    v["type"].as_str().map(str::to_owned)
}

/// The OAuth 1.0a Authorization header value for `method` `url` (no body params), with given
/// nonce and timestamp. `url` must not carry a query string; a zero timestamp means "now".
pub fn authorization(
    method: &str,
    url: &str,
    creds: &Credentials,
    nonce: &str,
    timestamp: u64,
) -> String {
    sign(
        method,
        url,
        creds,
        Some(nonce),
        NonZeroU64::new(timestamp),
        &(),
    )
}

fn sign(
    method: &str,
    url: &str,
    creds: &Credentials,
    nonce: Option<&str>,
    timestamp: Option<NonZeroU64>,
    params: &impl oauth::Request,
) -> String {
    let client = oauth::Credentials::new(creds.consumer_key.as_str(), &creds.consumer_secret);
    let token = oauth::Credentials::new(creds.access_token.as_str(), &creds.access_token_secret);
    let mut builder = oauth::Builder::new(client, oauth::HMAC_SHA1);
    let url = base_string_uri(url);
    // X's documented signatures include oauth_version=1.0; None/None makes the crate pick a
    // random nonce and the current time.
    builder
        .token(token)
        .version(true)
        .nonce(nonce)
        .timestamp(timestamp);
    builder.authorize(method, &url, params)
}

/// The URL as the signature base string has it (RFC 5849 3.4.1.2): scheme
/// and host in lower case, the scheme's default port left out. X signs it
/// so, whatever the URL as configured: `https://API.X.com:443` is
/// `https://api.x.com`.
fn base_string_uri(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let scheme = scheme.to_ascii_lowercase();
    let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let mut authority = authority.to_ascii_lowercase();
    let default = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => "",
    };
    if !default.is_empty() && authority.ends_with(default) {
        authority.truncate(authority.len() - default.len());
    }
    format!("{scheme}://{authority}{path}")
}

/// An answer from X, with the windows its headers state.
struct Reply {
    status: u16,
    limits: Windows,
    body: Result<String, String>,
}

impl Reply {
    fn text(&self) -> &str {
        self.body.as_deref().unwrap_or("")
    }
}

#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

#[derive(Deserialize)]
struct User {
    username: String,
}

impl XClient {
    pub fn new(api_base: &str, creds: Credentials) -> anyhow::Result<XClient> {
        let api = api_base.trim().trim_end_matches('/');
        let host = api
            .strip_prefix("https://")
            .or_else(|| api.strip_prefix("http://"));
        match host {
            Some(h) if !h.is_empty() && !h.contains(['?', '#', ' ']) => {}
            // Never quoted: it may hold user:password@.
            _ => bail!("invalid X API base URL (not shown): expected http(s)://host[:port]"),
        }
        let secrets = [
            &creds.consumer_key,
            &creds.consumer_secret,
            &creds.access_token,
            &creds.access_token_secret,
        ];
        // X's resets are Unix times, not seconds from now: no run's time is needed.
        let mut api = Api::new("X", "", api, secrets.map(String::clone).to_vec(), 0);
        // X's messages have always named its address alone.
        api.reached_as = api.origin.clone();
        Ok(XClient { api, creds })
    }

    pub fn with_timeouts(mut self, connect: Duration, global: Duration) -> XClient {
        self.api.agent = agent(connect, global);
        self
    }

    /// POST {api}/2/tweets with JSON body {"text": text}. Signed OAuth 1.0a HMAC-SHA1, user
    /// context; the JSON body is not part of the signature.
    pub fn post(&self, text: &str) -> PostOutcome {
        let body = serde_json::json!({ "text": text }).to_string();
        let reply = match self.call("/2/tweets", Some(body)) {
            Ok(reply) => reply,
            Err(e) => return PostOutcome::Failed(e),
        };
        match reply.status {
            200 | 201 => match self.parse::<Created>(&reply) {
                Ok(created) => PostOutcome::Posted {
                    id: created.id,
                    used_up: reply.limits.used_up(),
                },
                Err(e) => PostOutcome::Failed(self.api.secrets.error(format_args!(
                    "X accepted the post ({}) but its reply could not be understood: {e:#}",
                    reply.status
                ))),
            },
            403 if reply.text().to_lowercase().contains("duplicate") => PostOutcome::Duplicate,
            429 => PostOutcome::RateLimited(reply.limits.limit(reply.text())),
            402 => PostOutcome::Failed(self.status_error(&reply, "the post", "")),
            s if permanent(s) => PostOutcome::Refused(self.status_error(&reply, "the post", "")),
            _ => PostOutcome::Failed(self.status_error(&reply, "the post", WRITE_PERMISSION_HINT)),
        }
    }

    /// Signed GET {api}/2/users/me; returns the account's username without the @.
    pub fn me(&self) -> anyhow::Result<String> {
        let reply = self.call("/2/users/me", None)?;
        if reply.status != 200 {
            return Err(self.status_error(
                &reply,
                "the account lookup",
                "the app's project or the account may be suspended or lack API access",
            ));
        }
        let user = self
            .parse::<User>(&reply)
            .context("X's /2/users/me reply could not be understood")?;
        let name = self
            .api
            .secrets
            .shown(user.username.trim_start_matches('@'));
        if name.is_empty() {
            bail!("X's /2/users/me reply has an empty username");
        }
        Ok(name)
    }

    fn call(&self, path: &str, json: Option<String>) -> anyhow::Result<Reply> {
        let url = format!("{}{path}", self.api.base);
        let (method, payload) = match json {
            Some(body) => ("POST", Payload::Json(body)),
            None => ("GET", Payload::Get),
        };
        let auth = sign(method, &url, &self.creds, None, None, &());
        let Answer {
            status,
            headers,
            body,
            ..
        } = self.api.call(&url, &[("Authorization", &auth)], payload)?;
        Ok(Reply {
            status,
            limits: Windows::read(&headers),
            body,
        })
    }
}

impl XClient {
    fn parse<T: serde::de::DeserializeOwned>(&self, reply: &Reply) -> anyhow::Result<T> {
        let text = reply.body.as_ref().map_err(|e| self.api.unreachable(e))?;
        // serde's message may quote the reply, as the reply may quote a secret.
        let parsed: Data<T> = serde_json::from_str(text).map_err(|e| {
            let (e, text) = (
                self.api.secrets.shown(&e.to_string()),
                self.api.secrets.shown(text),
            );
            self.api
                .secrets
                .error(format_args!("{e}; reply was: {text}"))
        })?;
        Ok(parsed.data)
    }

    /// `permission` explains a 403 of type `oauth1-permissions`, whose fix
    /// differs per endpoint.
    fn status_error(&self, reply: &Reply, what: &str, permission: &str) -> anyhow::Error {
        let status = reply.status;
        let kind = problem_type(reply.text()).unwrap_or_default();
        let is = |t: &str| kind.ends_with(&format!("/problems/{t}"));
        let msg = match status {
        401 => {
            "X rejected the credentials (401): check the four TWITTER_* values and the system clock"
                .to_owned()
        }
        // Pay-per-use: the prepaid credits are gone until more are bought.
        402 => "X API credits are depleted (402, CreditsDepleted): add credits in the X developer \
                console; the posts wait in the outbox meanwhile"
            .to_owned(),
        403 if is("client-forbidden") || reply.text().contains("client-not-enrolled") => {
            format!("X refused {what} (403): {NOT_ENROLLED_HINT}")
        }
        403 if is("oauth1-permissions") && !permission.is_empty() => {
            format!("X refused {what} (403): {permission}")
        }
        403 => format!("X refused {what} (403)"),
        429 => {
            let limit = reply.limits.limit(reply.text());
            match limit.reset {
                Some(reset) => format!(
                    "X rate limit hit (429) for {what}: {}; it resets at Unix time {reset}",
                    limit.what
                ),
                None => format!("X rate limit hit (429) for {what}: {}", limit.what),
            }
        }
        500..=599 => format!("X server error ({status}) for {what}, will retry next run"),
        _ => format!("unexpected reply from X ({status}) for {what}"),
    };
        match self.detail(reply.text()) {
            Some(detail) => self
                .api
                .secrets
                .error(format_args!("{msg}; X says: {detail}")),
            None => self.api.secrets.error(msg),
        }
    }

    /// X puts the human-readable reason in `detail` (v2 problem JSON) or `errors[0].message` (v1.1).
    /// Decoded from its JSON before it is scrubbed, so an escaped echo of a
    /// secret is found too.
    fn detail(&self, body: &str) -> Option<String> {
        let v: serde_json::Value = serde_json::from_str(body).ok()?;
        let text = v["detail"]
            .as_str()
            .or_else(|| v["title"].as_str())
            .or_else(|| v["errors"][0]["message"].as_str())?;
        Some(self.api.secrets.shown(text)).filter(|s| !s.is_empty())
    }
}
/// Posts to X through the v2 API.
pub struct XSink {
    client: XClient,
    /// A limit the last post's reply said is used up.
    used_up: Option<Limit>,
}

impl XSink {
    /// Builds the sink from X's options.
    pub fn new(c: &XConfig) -> anyhow::Result<XSink> {
        let api = c.api_url.as_deref().unwrap_or(DEFAULT_API);
        Ok(XSink {
            client: XClient::new(api, c.credentials()?)?,
            used_up: None,
        })
    }
}

impl Sink for XSink {
    fn name(&self) -> &'static str {
        "twitter"
    }

    fn check(&mut self) -> anyhow::Result<String> {
        Ok(format!("@{}", self.client.me()?))
    }

    fn used_up(&mut self) -> Option<Limit> {
        self.used_up.take()
    }

    fn publish(&mut self, post: &Post) -> Outcome {
        match self.client.post(&post.text) {
            PostOutcome::Posted { used_up, .. } => {
                self.used_up = used_up;
                Outcome::Delivered
            }
            PostOutcome::Duplicate => Outcome::Duplicate,
            PostOutcome::RateLimited(limit) => Outcome::RateLimited(limit),
            PostOutcome::Refused(e) => Outcome::Refused(e.context("posting to X failed")),
            PostOutcome::Failed(e) => Outcome::Failed(e.context("posting to X failed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCS_URL: &str = "https://api.x.com/1.1/statuses/update.json";
    const DOCS_NONCE: &str = "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg";
    const DOCS_STATUS: &str = "Hello Ladies + Gentlemen, a signed OAuth request!";

    /// The credentials of X's documentation example.
    fn docs_credentials() -> Credentials {
        Credentials {
            consumer_key: "xvz1evFS4wEEPTGEFPHBog".into(),
            consumer_secret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw".into(),
            access_token: "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb".into(),
            access_token_secret: "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE".into(),
        }
    }

    #[test]
    fn signer_matches_x_documentation_example() {
        let params =
            oauth::ParameterList::new([("status", DOCS_STATUS), ("include_entities", "true")]);
        let header = sign(
            "POST",
            DOCS_URL,
            &docs_credentials(),
            Some(DOCS_NONCE),
            NonZeroU64::new(1318622958),
            &params,
        );
        assert_eq!(
            header,
            "OAuth oauth_consumer_key=\"xvz1evFS4wEEPTGEFPHBog\",\
             oauth_nonce=\"kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg\",\
             oauth_signature_method=\"HMAC-SHA1\",oauth_timestamp=\"1318622958\",\
             oauth_token=\"370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb\",\
             oauth_version=\"1.0\",oauth_signature=\"Ls93hJiZbQ3akF3HF3x1Bz8%2FzU4%3D\""
        );
    }

    #[test]
    fn the_base_string_uri_is_lower_case_without_the_default_port() {
        assert_eq!(
            base_string_uri("http://Example.COM:80/a/B?x=Y"),
            "http://example.com/a/B?x=Y"
        );
    }
}
