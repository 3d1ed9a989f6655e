//! A fake X (Twitter) API on 127.0.0.1 for tests: it answers a scripted
//! sequence of replies, records every request, and checks every request's
//! OAuth 1.0a signature independently (RFC 5849 HMAC-SHA1, computed here
//! with its own crates, not with the code under test).
//!
//! Shared by the X client's tests (tests/x_client.rs) and the end-to-end
//! tests (tests/cli), and it uses nothing from the crate itself.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// The server stops by itself after this long without a connection.
const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// How long a request may take to arrive, and a `hang` reply holds the line.
const IO_LIMIT: Duration = Duration::from_secs(10);

/// The four OAuth 1.0a credentials, as plain strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys {
    pub consumer_key: &'static str,
    pub consumer_secret: &'static str,
    pub access_token: &'static str,
    pub access_token_secret: &'static str,
}

/// The credentials the tests use. Each is distinctive, so a test can search
/// any output for it.
pub const KEYS: Keys = Keys {
    consumer_key: "CKEY-test-consumer-key-1234",
    consumer_secret: "CSECRET-zz9-plural-z-alpha",
    access_token: "ATOKEN-42-the-access-token",
    access_token_secret: "ASECRET-do-not-print-me",
};

impl Keys {
    pub fn all(&self) -> [&'static str; 4] {
        [
            self.consumer_key,
            self.consumer_secret,
            self.access_token,
            self.access_token_secret,
        ]
    }

    /// The environment variables that carry them.
    pub fn env(&self) -> [(&'static str, &'static str); 4] {
        [
            ("TWITTER_CONSUMER_KEY", self.consumer_key),
            ("TWITTER_CONSUMER_SECRET", self.consumer_secret),
            ("TWITTER_ACCESS_TOKEN", self.access_token),
            ("TWITTER_ACCESS_TOKEN_SECRET", self.access_token_secret),
        ]
    }
}

// RFC 5849 3.6: everything but unreserved characters is percent-encoded.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

/// RFC 5849 3.4.1.2: the scheme and host in lower case, without the
/// scheme's default port.
pub fn base_string_uri(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("an absolute URL");
    let scheme = scheme.to_ascii_lowercase();
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut authority = authority.to_ascii_lowercase();
    for (s, port) in [("http", ":80"), ("https", ":443")] {
        if scheme == s && authority.ends_with(port) {
            authority.truncate(authority.len() - port.len());
        }
    }
    let path = if path.is_empty() { "/" } else { path };
    format!("{scheme}://{authority}{path}")
}

/// Independent RFC 5849 check of an Authorization header for `method` `url`
/// (without its query) plus `extra` request parameters. Returns the oauth_*
/// parameters, or what is wrong.
pub fn check_signature(
    header: &str,
    method: &str,
    url: &str,
    extra: &[(&str, &str)],
    keys: &Keys,
) -> Result<Vec<(String, String)>, String> {
    let fields = header
        .strip_prefix("OAuth ")
        .ok_or_else(|| format!("not an OAuth header: {header}"))?;
    let mut oauth = Vec::new();
    let mut signature = None;
    for field in fields.split(',') {
        let (k, v) = field
            .trim()
            .split_once('=')
            .ok_or_else(|| format!("not k=v: {field}"))?;
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or_else(|| format!("not quoted: {field}"))?;
        let v = percent_decode_str(v)
            .decode_utf8()
            .map_err(|e| format!("{field}: {e}"))?
            .into_owned();
        if k == "oauth_signature" {
            signature = Some(v);
        } else {
            oauth.push((k.to_owned(), v));
        }
    }
    let value = |k: &str| oauth.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let expect = |k: &str, want: &str| match value(k) {
        Some(v) if v == want => Ok(()),
        other => Err(format!("{k} is {other:?}, expected {want:?}")),
    };
    expect("oauth_signature_method", "HMAC-SHA1")?;
    expect("oauth_consumer_key", keys.consumer_key)?;
    expect("oauth_token", keys.access_token)?;
    if value("oauth_nonce").is_none_or(str::is_empty) {
        return Err("no oauth_nonce".into());
    }
    if value("oauth_timestamp").is_none_or(|t| t.parse::<u64>().is_err()) {
        return Err("no numeric oauth_timestamp".into());
    }

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
    let base = format!(
        "{method}&{}&{}",
        enc(&base_string_uri(url)),
        enc(&normalized)
    );
    let key = format!(
        "{}&{}",
        enc(keys.consumer_secret),
        enc(keys.access_token_secret)
    );
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(base.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if signature.as_deref() != Some(expected.as_str()) {
        return Err(format!(
            "bad oauth_signature {signature:?}, expected {expected:?}; base string: {base}"
        ));
    }
    Ok(oauth)
}

/// `check_signature`, panicking on a bad one.
pub fn verify_signature(
    header: &str,
    method: &str,
    url: &str,
    extra: &[(&str, &str)],
    keys: &Keys,
) -> Vec<(String, String)> {
    check_signature(header, method, url, extra, keys).unwrap_or_else(|e| panic!("{e}"))
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Read the request and never answer (until the client gives up).
    pub hang: bool,
    /// Read this file when the request arrives, before answering: what the
    /// client had on disk at the moment it posted.
    pub capture: Option<PathBuf>,
}

impl Reply {
    pub fn new(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
            hang: false,
            capture: None,
        }
    }

    pub fn json(status: u16, body: &str) -> Reply {
        Reply::new(status, body).header("Content-Type", "application/json")
    }

    /// A problem reply with that status, as X writes them.
    pub fn status(status: u16) -> Reply {
        Reply::json(
            status,
            &format!(
                r#"{{"title":"Scripted","detail":"scripted {status}","type":"about:blank","status":{status}}}"#
            ),
        )
    }

    /// 201 Created, as `POST /2/tweets` answers.
    pub fn created(id: &str) -> Reply {
        Reply::json(
            201,
            &format!(r#"{{"data":{{"id":"{id}","text":"(as posted)"}}}}"#),
        )
    }

    /// X's answer to a text already posted.
    pub fn duplicate() -> Reply {
        Reply::json(
            403,
            r#"{"detail":"You are not allowed to create a Tweet with duplicate content.","type":"about:blank","title":"Forbidden","status":403}"#,
        )
    }

    /// X's answer to an app without write permission.
    pub fn forbidden() -> Reply {
        Reply::json(
            403,
            r#"{"detail":"You are not permitted to perform this action.","type":"about:blank","title":"Forbidden","status":403}"#,
        )
    }

    /// X's problem JSON for a 429 when the account's 24-hour cap is used
    /// up, with the headers X sends: the 15-minute window still has room,
    /// the user's 24-hour window does not.
    pub fn day_capped(now: i64, user_reset: i64) -> Reply {
        Reply::json(429, r#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#)
            .header("x-rate-limit-limit", "100")
            .header("x-rate-limit-remaining", "99")
            .header("x-rate-limit-reset", &(now + 900).to_string())
            .header("x-user-limit-24hour-limit", "17")
            .header("x-user-limit-24hour-remaining", "0")
            .header("x-user-limit-24hour-reset", &user_reset.to_string())
            .header("x-app-limit-24hour-limit", "10000")
            .header("x-app-limit-24hour-remaining", "9983")
            .header("x-app-limit-24hour-reset", &(now + 3600).to_string())
    }

    /// X's 429 when the account's spend cap is reached.
    pub fn usage_capped() -> Reply {
        Reply::json(
            429,
            r#"{"title":"UsageCapExceeded","detail":"Usage cap exceeded: Monthly product cap","type":"https://api.twitter.com/2/problems/usage-capped","period":"Monthly","scope":"Product"}"#,
        )
    }

    /// X's 402 when the prepaid credits are gone.
    pub fn credits_depleted() -> Reply {
        Reply::json(
            402,
            r#"{"title":"CreditsDepleted","detail":"Your enrolled account [1834000000000000000] does not have any credits to fulfill this request.","type":"https://api.twitter.com/2/problems/credits"}"#,
        )
    }

    /// X's 403 for an app that is not attached to a Project.
    pub fn client_forbidden() -> Reply {
        Reply::json(
            403,
            r#"{"client_id":"29000000","detail":"When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project. You can create a project via the developer portal.","registration_url":"https://developer.twitter.com/en/docs/projects/overview","title":"Client Forbidden","required_enrollment":"Appropriate Level of API Access","reason":"client-not-enrolled","type":"https://api.twitter.com/2/problems/client-forbidden"}"#,
        )
    }

    /// X's 403 for an app whose OAuth 1.0a permissions do not allow posting.
    pub fn oauth1_permissions() -> Reply {
        Reply::json(
            403,
            r#"{"title":"Forbidden","type":"https://api.twitter.com/2/problems/oauth1-permissions","detail":"Your client app is not configured with the appropriate oauth1 app permissions for this endpoint.","status":403}"#,
        )
    }

    pub fn rate_limited(reset: i64) -> Reply {
        Reply::json(429, r#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#)
            .header("x-rate-limit-reset", &reset.to_string())
    }

    /// `GET /2/users/me`.
    pub fn me(username: &str) -> Reply {
        Reply::json(
            200,
            &format!(
                r#"{{"data":{{"id":"2244994945","name":"Attack Log","username":"{username}"}}}}"#
            ),
        )
    }

    pub fn hang() -> Reply {
        Reply {
            hang: true,
            ..Reply::new(0, "")
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn capture(mut self, path: impl Into<PathBuf>) -> Reply {
        self.capture = Some(path.into());
        self
    }

    fn bytes(&self) -> Vec<u8> {
        let mut head = format!(
            "HTTP/1.1 {} Scripted\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.status,
            self.body.len()
        );
        for (k, v) in &self.headers {
            head += &format!("{k}: {v}\r\n");
        }
        head += "\r\n";
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(self.body.as_bytes());
        bytes
    }
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The oauth_* parameters of its (verified) signature.
    pub oauth: Vec<(String, String)>,
    /// The bytes of the reply's `capture` file when the request arrived
    /// (`None` if it did not exist).
    pub captured: Option<Vec<u8>>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The full URL requested, with the host:port the client connected to.
    pub fn url(&self) -> String {
        format!(
            "http://{}{}",
            self.header("host").unwrap_or("<no Host header>"),
            self.target
        )
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    pub fn oauth(&self, name: &str) -> Option<&str> {
        self.oauth
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `text` of a `POST /2/tweets` JSON body, checking the body is
    /// exactly `{"text": "..."}`.
    pub fn text(&self) -> String {
        let v: serde_json::Value = serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body));
        let obj = v.as_object().expect("a JSON object");
        assert_eq!(obj.len(), 1, "only a text field: {v}");
        obj["text"].as_str().expect("a string text").to_owned()
    }
}

/// Reads one HTTP/1.1 request; `Ok(None)` for a connection closed before
/// sending anything.
pub fn read_request(stream: &mut TcpStream) -> Result<Option<Seen>, String> {
    stream
        .set_read_timeout(Some(IO_LIMIT))
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let n = reader
        .read_line(&mut line)
        .map_err(|e| format!("request line: {e}"))?;
    if n == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(format!("bad request line {line:?}"));
    };
    let (method, target) = (method.to_owned(), target.to_owned());
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader
            .read_line(&mut line)
            .map_err(|e| format!("headers: {e}"))?;
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
        oauth: Vec::new(),
        captured: None,
    };
    if seen.header("transfer-encoding").is_some() {
        return Err("chunked bodies are not supported by the fake".into());
    }
    let len = match seen.header("content-length") {
        None => 0,
        Some(v) => v
            .parse()
            .map_err(|e| format!("content-length {v:?}: {e}"))?,
    };
    seen.body.resize(len, 0);
    reader
        .read_exact(&mut seen.body)
        .map_err(|e| format!("body: {e}"))?;
    Ok(Some(seen))
}

/// Verifies the request's signature against `keys`; query parameters are
/// part of the signed parameters, the JSON body is not.
fn verify(seen: &Seen, keys: &Keys) -> Result<Vec<(String, String)>, String> {
    let auth = seen
        .header("authorization")
        .ok_or("no Authorization header")?;
    let url = seen.url();
    let (base, query) = url.split_once('?').unwrap_or((&url, ""));
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    let query: Vec<(String, String)> = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect();
    let extra: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    check_signature(auth, &seen.method, base, &extra, keys)
}

#[derive(Default)]
struct Log {
    seen: Vec<Seen>,
    errors: Vec<String>,
}

/// A fake X on 127.0.0.1:PORT. Answers request N with the script's Nth
/// reply; a request past the script gets a 500 and is recorded as an error,
/// so an unexpected extra post fails the test. Stops when dropped, or by
/// itself after a minute without a connection.
pub struct FakeX {
    url: String,
    log: Arc<Mutex<Log>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeX {
    /// Serves `script`, verifying signatures against `KEYS`.
    pub fn start(script: Vec<Reply>) -> FakeX {
        FakeX::start_with(KEYS, script)
    }

    pub fn start_with(keys: Keys, script: Vec<Reply>) -> FakeX {
        FakeX::spawn(Some(keys), script)
    }

    /// Serves `script`, checking signatures against `keys` if any.
    fn spawn(keys: Option<Keys>, script: Vec<Reply>) -> FakeX {
        let mut script = script.into_iter();
        FakeX::spawn_with(keys, move |_| script.next())
    }

    /// Answers each request with what `answer` says, checking signatures
    /// against `keys` if any: a fake that keeps state across requests and
    /// runs, as the real service does. `None` is a request it did not expect.
    pub fn serve_with(
        keys: Option<Keys>,
        answer: impl FnMut(&Seen) -> Option<Reply> + Send + 'static,
    ) -> FakeX {
        FakeX::spawn_with(keys, answer)
    }

    fn spawn_with(
        keys: Option<Keys>,
        answer: impl FnMut(&Seen) -> Option<Reply> + Send + 'static,
    ) -> FakeX {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Log::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (log, stop) = (log.clone(), stop.clone());
            thread::spawn(move || serve(listener, keys, answer, log, stop))
        };
        FakeX {
            url,
            log,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, for `--twitter-api-url`.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every request so far, in order; panics if any was malformed, badly
    /// signed, or beyond the script.
    pub fn requests(&self) -> Vec<Seen> {
        let log = self.log();
        assert!(log.errors.is_empty(), "fake X: {:#?}", log.errors);
        log.seen.clone()
    }

    /// The texts of every `POST /2/tweets` so far, in order.
    pub fn texts(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| {
                assert_eq!(
                    (r.method.as_str(), r.path()),
                    ("POST", "/2/tweets"),
                    "{r:?}"
                );
                r.text()
            })
            .collect()
    }

    /// What went wrong so far (bad signatures, requests beyond the script…).
    pub fn errors(&self) -> Vec<String> {
        self.log().errors.clone()
    }
}

impl Drop for FakeX {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if !thread::panicking() {
            let errors = self.errors();
            assert!(errors.is_empty(), "fake X: {errors:#?}");
        }
    }
}

/// A URL where nothing listens: connections are refused.
pub fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

fn serve(
    listener: TcpListener,
    keys: Option<Keys>,
    mut answer: impl FnMut(&Seen) -> Option<Reply>,
    log: Arc<Mutex<Log>>,
    stop: Arc<AtomicBool>,
) {
    let record_error = |e: String| log.lock().unwrap_or_else(|e| e.into_inner()).errors.push(e);
    let mut n = 0;
    let mut idle_since = Instant::now();
    while !stop.load(Ordering::SeqCst) && idle_since.elapsed() < IDLE_LIMIT {
        let mut stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
                continue;
            }
            Err(e) => {
                record_error(format!("accept: {e}"));
                return;
            }
        };
        idle_since = Instant::now();
        let _ = stream.set_nonblocking(false);
        let mut seen = match read_request(&mut stream) {
            Ok(Some(seen)) => seen,
            Ok(None) => continue,
            Err(e) => {
                record_error(format!("request {}: {e}", n + 1));
                continue;
            }
        };
        n += 1;
        match keys.as_ref().map(|keys| verify(&seen, keys)) {
            Some(Ok(oauth)) => seen.oauth = oauth,
            Some(Err(e)) => {
                record_error(format!("request {n} ({} {}): {e}", seen.method, seen.url()))
            }
            None => {}
        }
        let reply = answer(&seen).unwrap_or_else(|| {
            record_error(format!(
                "request {n} ({} {}) is beyond the script",
                seen.method,
                seen.url()
            ));
            Reply::status(500)
        });
        if let Some(path) = &reply.capture {
            seen.captured = std::fs::read(path).ok();
        }
        log.lock()
            .unwrap_or_else(|e| e.into_inner())
            .seen
            .push(seen);
        if reply.hang {
            // Hold the line until the client gives up (EOF), the fake is
            // dropped, or IO_LIMIT passes.
            let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
            let held = Instant::now();
            while !stop.load(Ordering::SeqCst) && held.elapsed() < IO_LIMIT {
                match stream.read(&mut [0; 64]) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(_) => break,
                }
            }
            continue;
        }
        if let Err(e) = stream
            .write_all(&reply.bytes())
            .and_then(|()| stream.flush())
        {
            record_error(format!("request {n}: writing the reply: {e}"));
        }
    }
}

// Plain HTTP APIs (Mastodon, Bluesky, AbuseIPDB, webhooks): the same
// scripted server, without the OAuth check.

impl FakeX {
    /// Serves `script` like `start`, but checks no OAuth signature: for APIs
    /// that authenticate with a bearer token or key, which the test checks.
    pub fn start_plain(script: Vec<Reply>) -> FakeX {
        FakeX::spawn(None, script)
    }
}

impl Seen {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    /// The body as an `application/x-www-form-urlencoded` form, in order.
    pub fn form(&self) -> Vec<(String, String)> {
        assert_eq!(
            self.header("content-type"),
            Some("application/x-www-form-urlencoded"),
            "{self:?}"
        );
        let decode = |s: &str| {
            percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .unwrap_or_else(|e| panic!("{s:?}: {e}"))
                .into_owned()
        };
        std::str::from_utf8(&self.body)
            .expect("a UTF-8 form")
            .split('&')
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (decode(k), decode(v))
            })
            .collect()
    }

    /// One field of the form body; panics unless it is there exactly once.
    pub fn field(&self, name: &str) -> String {
        let values: Vec<String> = self
            .form()
            .into_iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v)
            .collect();
        assert_eq!(values.len(), 1, "{name} in {self:?}");
        values[0].clone()
    }
}
