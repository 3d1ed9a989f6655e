//! X (Twitter) API v2 client: OAuth 1.0a signed posting and account check.

use std::fmt;
use std::num::NonZeroU64;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use oauth1_request as oauth;
use serde::Deserialize;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const GLOBAL_TIMEOUT: Duration = Duration::from_secs(30);
// X replies are small; a cap keeps a misbehaving endpoint from eating memory.
const MAX_REPLY_BYTES: u64 = 64 * 1024;
const MAX_DETAIL_CHARS: usize = 200;
const WRITE_PERMISSION_HINT: &str = "the app lacks write permission (set it to \"Read and write\" \
    in the developer portal, then regenerate the access token and secret)";

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

#[derive(Debug)]
pub struct XClient {
    agent: ureq::Agent,
    api: String,
    creds: Credentials,
}

#[derive(Debug)]
pub enum PostOutcome {
    Posted { id: String },
    Duplicate,
    RateLimited { reset: Option<i64> },
    Failed(anyhow::Error),
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
    // X's documented signatures include oauth_version=1.0; None/None makes the crate pick a
    // random nonce and the current time.
    builder
        .token(token)
        .version(true)
        .nonce(nonce)
        .timestamp(timestamp);
    builder.authorize(method, url, params)
}

fn agent(connect: Duration, global: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(connect))
        .timeout_global(Some(global))
        .http_status_as_error(false)
        // A redirect would replay the signed header against another URL; report it instead.
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(concat!("tweet-attacks/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

struct Reply {
    status: u16,
    rate_limit_reset: Option<i64>,
    body: anyhow::Result<String>,
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
            _ => bail!("invalid X API base URL {api_base:?}: expected http(s)://host[:port]"),
        }
        Ok(XClient {
            agent: agent(CONNECT_TIMEOUT, GLOBAL_TIMEOUT),
            api: api.to_owned(),
            creds,
        })
    }

    pub fn with_timeouts(mut self, connect: Duration, global: Duration) -> XClient {
        self.agent = agent(connect, global);
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
            200 | 201 => match parse::<Created>(&reply) {
                Ok(created) => PostOutcome::Posted { id: created.id },
                Err(e) => PostOutcome::Failed(e.context(format!(
                    "X accepted the post ({}) but its reply could not be understood",
                    reply.status
                ))),
            },
            403 if reply.text().to_lowercase().contains("duplicate") => PostOutcome::Duplicate,
            429 => PostOutcome::RateLimited {
                reset: reply.rate_limit_reset,
            },
            _ => PostOutcome::Failed(status_error(&reply, "the post", WRITE_PERMISSION_HINT)),
        }
    }

    /// Signed GET {api}/2/users/me; returns the account's username without the @.
    pub fn me(&self) -> anyhow::Result<String> {
        let reply = self.call("/2/users/me", None)?;
        if reply.status != 200 {
            return Err(status_error(
                &reply,
                "the account lookup",
                "the app's project or the account may be suspended or lack API access",
            ));
        }
        let user =
            parse::<User>(&reply).context("X's /2/users/me reply could not be understood")?;
        let name = user.username.trim_start_matches('@');
        if name.is_empty() {
            bail!("X's /2/users/me reply has an empty username");
        }
        Ok(name.to_owned())
    }

    fn call(&self, path: &str, json: Option<String>) -> anyhow::Result<Reply> {
        let url = format!("{}{path}", self.api);
        let unreachable = |e: ureq::Error| anyhow!("cannot reach {}: {e}", self.api);
        let method = if json.is_some() { "POST" } else { "GET" };
        let auth = sign(method, &url, &self.creds, None, None, &());
        let sent = match json {
            Some(body) => self
                .agent
                .post(&url)
                .header("Authorization", &auth)
                .content_type("application/json")
                .send(body),
            None => self.agent.get(&url).header("Authorization", &auth).call(),
        };
        let mut response = sent.map_err(unreachable)?;
        let rate_limit_reset = response
            .headers()
            .get("x-rate-limit-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_REPLY_BYTES)
            .read_to_string()
            .map_err(unreachable);
        Ok(Reply {
            status: response.status().as_u16(),
            rate_limit_reset,
            body,
        })
    }
}

fn parse<T: serde::de::DeserializeOwned>(reply: &Reply) -> anyhow::Result<T> {
    let text = reply.body.as_ref().map_err(|e| anyhow!("{e:#}"))?;
    let parsed: Data<T> =
        serde_json::from_str(text).map_err(|e| anyhow!("{e}; reply was: {}", sanitize(text)))?;
    Ok(parsed.data)
}

/// `forbidden` explains a 403, whose usual cause differs per endpoint.
fn status_error(reply: &Reply, what: &str, forbidden: &str) -> anyhow::Error {
    let status = reply.status;
    let msg = match status {
        401 => {
            "X rejected the credentials (401): check the four TWITTER_* values and the system clock"
                .to_owned()
        }
        402 => "X API credits are depleted (402): add credits or wait for the next billing period"
            .to_owned(),
        403 => format!("X refused {what} (403): {forbidden}"),
        429 => match reply.rate_limit_reset {
            Some(reset) => {
                format!("X rate limit hit (429) for {what}; it resets at Unix time {reset}")
            }
            None => format!("X rate limit hit (429) for {what}"),
        },
        500..=599 => format!("X server error ({status}) for {what}, will retry next run"),
        _ => format!("unexpected reply from X ({status}) for {what}"),
    };
    match detail(reply.text()) {
        Some(detail) => anyhow!("{msg}; X says: {detail}"),
        None => anyhow!(msg),
    }
}

/// X puts the human-readable reason in `detail` (v2 problem JSON) or `errors[0].message` (v1.1).
fn detail(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let text = v["detail"]
        .as_str()
        .or_else(|| v["title"].as_str())
        .or_else(|| v["errors"][0]["message"].as_str())?;
    Some(sanitize(text)).filter(|s| !s.is_empty())
}

/// Remote text goes into logs and terminals: strip control characters and bound its length.
fn sanitize(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    match clean.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &clean[..cut]),
        None => clean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use hmac::{Hmac, KeyInit, Mac};
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::thread::{self, JoinHandle};
    use std::time::{Instant, SystemTime, UNIX_EPOCH};

    // RFC 5849 3.6: everything but unreserved characters is percent-encoded.
    const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');

    fn enc(s: &str) -> String {
        utf8_percent_encode(s, RFC3986).to_string()
    }

    fn creds() -> Credentials {
        Credentials {
            consumer_key: "CKEY-test-consumer-key-1234".into(),
            consumer_secret: "CSECRET-zz9-plural-z-alpha".into(),
            access_token: "ATOKEN-42-the-access-token".into(),
            access_token_secret: "ASECRET-do-not-print-me".into(),
        }
    }

    fn docs_creds() -> Credentials {
        Credentials {
            consumer_key: "xvz1evFS4wEEPTGEFPHBog".into(),
            consumer_secret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw".into(),
            access_token: "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb".into(),
            access_token_secret: "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE".into(),
        }
    }

    const DOCS_URL: &str = "https://api.x.com/1.1/statuses/update.json";
    const DOCS_NONCE: &str = "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg";
    const DOCS_STATUS: &str = "Hello Ladies + Gentlemen, a signed OAuth request!";

    /// Independent RFC 5849 check of an Authorization header: returns the oauth_* parameters.
    fn verify_signature(
        header: &str,
        method: &str,
        url: &str,
        extra: &[(&str, &str)],
        creds: &Credentials,
    ) -> Vec<(String, String)> {
        let fields = header
            .strip_prefix("OAuth ")
            .unwrap_or_else(|| panic!("not an OAuth header: {header}"));
        let mut oauth = Vec::new();
        let mut signature = None;
        for field in fields.split(',') {
            let (k, v) = field.trim().split_once('=').expect("k=v");
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .expect("quoted");
            let v = percent_decode_str(v).decode_utf8().unwrap().into_owned();
            if k == "oauth_signature" {
                signature = Some(v);
            } else {
                oauth.push((k.to_owned(), v));
            }
        }
        let value = |k: &str| oauth.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(value("oauth_signature_method"), Some("HMAC-SHA1"));
        assert_eq!(
            value("oauth_consumer_key"),
            Some(creds.consumer_key.as_str())
        );
        assert_eq!(value("oauth_token"), Some(creds.access_token.as_str()));
        assert!(value("oauth_nonce").is_some_and(|n| !n.is_empty()));
        assert!(value("oauth_timestamp").is_some_and(|t| t.parse::<u64>().is_ok()));

        let mut params: Vec<(String, String)> = oauth
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(extra.iter().copied())
            .map(|(k, v)| (enc(k), enc(v)))
            .collect();
        params.sort();
        let normalized = params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let base = format!("{method}&{}&{}", enc(url), enc(&normalized));
        let key = format!(
            "{}&{}",
            enc(&creds.consumer_secret),
            enc(&creds.access_token_secret)
        );
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(base.as_bytes());
        let expected =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(
            signature.as_deref(),
            Some(expected.as_str()),
            "base string: {base}"
        );
        oauth
    }

    #[test]
    fn signer_matches_x_documentation_example() {
        let params =
            oauth::ParameterList::new([("status", DOCS_STATUS), ("include_entities", "true")]);
        let header = sign(
            "POST",
            DOCS_URL,
            &docs_creds(),
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
    fn test_verifier_accepts_documentation_example() {
        // Proves the independent verifier used below is itself correct.
        let header = "OAuth oauth_consumer_key=\"xvz1evFS4wEEPTGEFPHBog\",\
             oauth_nonce=\"kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg\",\
             oauth_signature=\"Ls93hJiZbQ3akF3HF3x1Bz8%2FzU4%3D\",\
             oauth_signature_method=\"HMAC-SHA1\",oauth_timestamp=\"1318622958\",\
             oauth_token=\"370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb\",\
             oauth_version=\"1.0\"";
        let extra = [("include_entities", "true"), ("status", DOCS_STATUS)];
        verify_signature(header, "POST", DOCS_URL, &extra, &docs_creds());
    }

    #[test]
    fn authorization_uses_given_nonce_and_timestamp() {
        let header = authorization(
            "GET",
            "https://api.x.com/2/users/me",
            &creds(),
            "n0nce",
            1700000123,
        );
        let oauth = verify_signature(
            &header,
            "GET",
            "https://api.x.com/2/users/me",
            &[],
            &creds(),
        );
        assert!(oauth.contains(&("oauth_nonce".into(), "n0nce".into())));
        assert!(oauth.contains(&("oauth_timestamp".into(), "1700000123".into())));
        let other = authorization(
            "GET",
            "https://api.x.com/2/users/me",
            &creds(),
            "n0nce",
            1700000124,
        );
        assert_ne!(header, other);
    }

    #[derive(Debug)]
    struct Seen {
        method: String,
        target: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }

        fn url(&self) -> String {
            format!(
                "http://{}{}",
                self.header("host").expect("Host header"),
                self.target
            )
        }
    }

    fn read_request(stream: &mut TcpStream) -> Seen {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let mut parts = line.split_whitespace();
        let (method, target) = (
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
        );
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let Some((k, v)) = line.trim_end().split_once(':') else {
                break;
            };
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        let mut seen = Seen {
            method,
            target,
            headers,
            body: Vec::new(),
        };
        let len = seen
            .header("content-length")
            .map_or(0, |v| v.parse().unwrap());
        seen.body.resize(len, 0);
        reader.read_exact(&mut seen.body).unwrap();
        seen
    }

    fn accept(listener: &TcpListener) -> TcpStream {
        // Non-blocking accept with a deadline so a client that never connects fails the test
        // instead of hanging it.
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    return stream;
                }
                Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                Err(e) => panic!("no client connected: {e}"),
            }
        }
    }

    /// One-shot HTTP/1.1 server: answers a single request with the scripted reply.
    fn serve(status: u16, headers: &[(&str, &str)], body: &str) -> (String, JoinHandle<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut reply = format!(
            "HTTP/1.1 {status} Scripted\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (k, v) in headers {
            reply += &format!("{k}: {v}\r\n");
        }
        reply += "\r\n";
        reply += body;
        let server = thread::spawn(move || {
            let mut stream = accept(&listener);
            let seen = read_request(&mut stream);
            stream.write_all(reply.as_bytes()).unwrap();
            seen
        });
        (base, server)
    }

    fn post_with(status: u16, headers: &[(&str, &str)], body: &str) -> (PostOutcome, Seen) {
        let (base, server) = serve(status, headers, body);
        let outcome = XClient::new(&base, creds()).unwrap().post("hello");
        (outcome, server.join().unwrap())
    }

    fn failure(outcome: PostOutcome) -> String {
        match outcome {
            PostOutcome::Failed(e) => format!("{e:#}"),
            other => panic!("expected Failed, got {other:?}"),
        }
    }

    #[test]
    fn post_201_sends_signed_json_and_returns_id() {
        let (base, server) = serve(
            201,
            &[("Content-Type", "application/json")],
            r#"{"data":{"id":"1445880548472328192","text":"x"}}"#,
        );
        let text = "Blocked 203.0.113.7 — 42 attempts & \"quotes\" + 100% 🚫\nnext line";
        let outcome = XClient::new(&base, creds()).unwrap().post(text);
        let seen = server.join().unwrap();
        assert!(
            matches!(&outcome, PostOutcome::Posted { id } if id == "1445880548472328192"),
            "{outcome:?}"
        );
        assert_eq!(seen.method, "POST");
        assert_eq!(seen.url(), format!("{base}/2/tweets"));
        assert_eq!(seen.header("content-type"), Some("application/json"));
        let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
        assert_eq!(body, serde_json::json!({ "text": text }));
        let auth = seen.header("authorization").expect("Authorization header");
        verify_signature(auth, "POST", &seen.url(), &[], &creds());
    }

    #[test]
    fn post_403_duplicate() {
        let body = r#"{"detail":"You are not allowed to create a Tweet with Duplicate content.","type":"about:blank","title":"Forbidden","status":403}"#;
        let (outcome, _) = post_with(403, &[], body);
        assert!(matches!(outcome, PostOutcome::Duplicate), "{outcome:?}");
    }

    #[test]
    fn post_403_other_is_permission_failure_with_sanitized_detail() {
        let detail = format!(
            "You are not permitted.\u{1b}[31m\r\nreason {}",
            "x".repeat(500)
        );
        let body = serde_json::json!({ "detail": detail, "title": "Forbidden", "status": 403 });
        let (outcome, _) = post_with(403, &[], &body.to_string());
        let msg = failure(outcome);
        assert!(
            msg.starts_with("X refused the post (403): the app lacks write permission"),
            "{msg}"
        );
        assert!(
            msg.contains("X says: You are not permitted. [31m reason xxx"),
            "{msg}"
        );
        assert!(!msg.chars().any(char::is_control), "{msg:?}");
        assert!(msg.len() < 600, "detail not truncated: {}", msg.len());
    }

    #[test]
    fn post_401_mentions_credentials() {
        let (outcome, _) = post_with(
            401,
            &[],
            r#"{"title":"Unauthorized","detail":"Unauthorized","status":401}"#,
        );
        let msg = failure(outcome);
        assert!(
            msg.starts_with("X rejected the credentials (401): check the four TWITTER_* values"),
            "{msg}"
        );
    }

    #[test]
    fn post_402_credits_depleted() {
        let (outcome, _) = post_with(
            402,
            &[],
            r#"{"title":"CreditsDepleted","detail":"Your enrolled account does not have any credits"}"#,
        );
        let msg = failure(outcome);
        assert!(msg.contains("credits are depleted (402)"), "{msg}");
        assert!(msg.contains("does not have any credits"), "{msg}");
    }

    #[test]
    fn post_429_rate_limited_with_reset() {
        let (outcome, _) = post_with(
            429,
            &[("x-rate-limit-reset", "1700000000")],
            r#"{"title":"Too Many Requests"}"#,
        );
        assert!(
            matches!(
                outcome,
                PostOutcome::RateLimited {
                    reset: Some(1700000000)
                }
            ),
            "{outcome:?}"
        );
    }

    #[test]
    fn post_500_server_error() {
        let (outcome, _) = post_with(503, &[], "<html>upstream down</html>");
        let msg = failure(outcome);
        assert!(msg.starts_with("X server error (503)"), "{msg}");
        assert!(msg.contains("will retry next run"), "{msg}");
    }

    #[test]
    fn post_other_status_is_generic_failure() {
        let (outcome, _) = post_with(418, &[], "");
        let msg = failure(outcome);
        assert!(msg.contains("unexpected reply from X (418)"), "{msg}");
    }

    fn refused_base() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    }

    #[test]
    fn connection_refused_cannot_reach() {
        let base = refused_base();
        let msg = failure(XClient::new(&base, creds()).unwrap().post("hello"));
        assert!(msg.starts_with(&format!("cannot reach {base}: ")), "{msg}");
    }

    #[test]
    fn me_returns_username() {
        let (base, server) = serve(
            200,
            &[("Content-Type", "application/json")],
            r#"{"data":{"id":"2244994945","name":"Attack Log","username":"attacklog"}}"#,
        );
        let client = XClient::new(&format!("{base}/"), creds()).unwrap();
        assert_eq!(client.me().unwrap(), "attacklog");
        let seen = server.join().unwrap();
        assert_eq!(seen.method, "GET");
        assert_eq!(seen.url(), format!("{base}/2/users/me"));
        assert!(seen.body.is_empty());
        let auth = seen.header("authorization").expect("Authorization header");
        let oauth = verify_signature(auth, "GET", &seen.url(), &[], &creds());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let ts: u64 = oauth
            .iter()
            .find(|(k, _)| k == "oauth_timestamp")
            .unwrap()
            .1
            .parse()
            .unwrap();
        assert!(now.abs_diff(ts) < 60, "timestamp {ts} is not now ({now})");
    }

    #[test]
    fn new_rejects_malformed_base() {
        for bad in [
            "",
            "api.x.com",
            "ftp://api.x.com",
            "https://",
            "https://api.x.com/?q",
        ] {
            assert!(XClient::new(bad, creds()).is_err(), "{bad:?} accepted");
        }
    }

    /// Accepts one connection, reads the request, and never answers.
    fn silent_server() -> (String, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = thread::spawn(move || {
            let mut stream = accept(&listener);
            read_request(&mut stream);
            // Hold the socket open until the client gives up (EOF) or 10 s pass.
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let _ = stream.read(&mut [0; 1]);
        });
        (base, server)
    }

    #[test]
    fn post_times_out_when_server_never_answers() {
        let (base, server) = silent_server();
        let client = XClient::new(&base, creds())
            .unwrap()
            .with_timeouts(Duration::from_secs(1), Duration::from_secs(1));
        let started = Instant::now();
        let msg = failure(client.post("hello"));
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
        assert!(msg.starts_with(&format!("cannot reach {base}: ")), "{msg}");
        assert!(msg.contains("timeout"), "{msg}");
        drop(client);
        server.join().unwrap();
    }

    #[test]
    fn secrets_never_leak() {
        let c = creds();
        let secrets = [
            &c.consumer_key,
            &c.consumer_secret,
            &c.access_token,
            &c.access_token_secret,
        ];
        let mut texts = vec![format!("{c:?}"), format!("{c:#?}")];
        let client = XClient::new(&refused_base(), c.clone()).unwrap();
        texts.push(format!("{client:?}"));
        texts.push(failure(client.post("hello")));
        texts.push(format!("{:?}", client.me().unwrap_err()));
        for status in [400, 401, 402, 403, 404, 429, 500] {
            let (outcome, _) = post_with(status, &[], r#"{"detail":"nope"}"#);
            texts.push(format!("{outcome:?}"));
            let (base, server) = serve(status, &[], r#"{"detail":"nope"}"#);
            let err = XClient::new(&base, c.clone()).unwrap().me().unwrap_err();
            server.join().unwrap();
            texts.push(format!("{err:#} {err:?}"));
        }
        for text in &texts {
            for secret in secrets {
                assert!(!text.contains(secret.as_str()), "{secret} leaked in {text}");
            }
        }
        assert!(
            texts[0].contains("<redacted>") && texts[0].contains("CKEY"),
            "{}",
            texts[0]
        );
    }
}
