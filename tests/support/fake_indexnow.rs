//! A fake IndexNow endpoint on 127.0.0.1 for tests, judging each POST as
//! indexnow.org documents it: 400 for a body that is not the JSON
//! `{"host","key","keyLocation","urlList"}` (a field missing or of the
//! wrong type, no URL, more than 10,000); 422 for a key not of the
//! protocol's form (8–128 of a-z A-Z 0-9 -) or a URL not on `host` or not
//! under keyLocation's directory; 403 when the key file, fetched over HTTP
//! from `keyLocation` (else `https://<host>/<key>.txt`), is missing or holds
//! another key; else 202 the first time a key is seen ("key validation
//! pending") and 200 after. Told to (`then`), it answers the next POST
//! with any reply instead: a 429 with or without `Retry-After`, a 5xx.
//! It records every request and the status it got.
//!
//! Also a tiny static web server (`StaticFiles`) to serve the key file in
//! tests that have no real one. Built on fake_x.rs's server (include it as
//! `mod fake_x` beside this one); uses nothing from the crate itself.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};

use crate::fake_x::{FakeX, Reply, Seen};

/// The most URLs one POST may carry.
pub const MAX_URLS: usize = 10_000;

/// One request as received, the status it got and why.
#[derive(Debug, Clone)]
pub struct Received {
    pub seen: Seen,
    pub status: u16,
    pub why: String,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        self.seen.json()
    }

    /// The body's `urlList`.
    pub fn url_list(&self) -> Vec<String> {
        self.json()["urlList"]
            .as_array()
            .expect("a urlList")
            .iter()
            .map(|u| u.as_str().expect("a URL string").to_owned())
            .collect()
    }
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    /// Replies to give the next requests instead of judging them.
    told: VecDeque<Reply>,
    /// Keys that have passed their check once (202 the first time).
    validated: HashSet<String>,
}

/// The fake endpoint; stops when dropped.
pub struct FakeIndexNow {
    server: FakeX,
    shared: Arc<Mutex<Shared>>,
}

impl FakeIndexNow {
    pub fn start() -> FakeIndexNow {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let server = {
            let shared = shared.clone();
            FakeX::serve_with(None, move |seen| {
                let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
                let (reply, why) = match s.told.pop_front() {
                    Some(reply) => (reply, "told to".to_owned()),
                    None => {
                        let (status, why) = judge(seen, &mut s.validated);
                        (answer(status, &why), why)
                    }
                };
                s.received.push(Received {
                    seen: seen.clone(),
                    status: reply.status,
                    why,
                });
                Some(reply)
            })
        };
        FakeIndexNow { server, shared }
    }

    /// `http://127.0.0.1:PORT/indexnow`, for indexnow-url.
    pub fn url(&self) -> String {
        format!("{}/indexnow", self.server.url())
    }

    fn shared(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers the next request not yet told with `reply`, whatever it holds.
    pub fn then(&self, reply: Reply) {
        self.shared().told.push_back(reply);
    }

    /// Answers the next request with 429, with `Retry-After: retry_after` if given.
    pub fn too_many(&self, retry_after: Option<&str>) {
        let reply = answer(429, "Too many requests (potential spam)");
        self.then(match retry_after {
            Some(v) => reply.header("Retry-After", v),
            None => reply,
        });
    }

    /// Every request so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.shared().received.clone()
    }

    /// The status each request got, in order.
    pub fn statuses(&self) -> Vec<u16> {
        self.shared().received.iter().map(|r| r.status).collect()
    }
}

/// An answer as the real endpoints word them: an empty 200 or 202, else a
/// JSON `code` and `message`.
fn answer(status: u16, why: &str) -> Reply {
    match status {
        200 | 202 => Reply::new(status, ""),
        _ => Reply::json(
            status,
            &json!({ "code": format!("Status{status}"), "message": why }).to_string(),
        ),
    }
}

/// The status a request gets, and why.
fn judge(seen: &Seen, validated: &mut HashSet<String>) -> (u16, String) {
    if seen.path() != "/indexnow" {
        return (404, format!("no such endpoint {}", seen.path()));
    }
    if seen.method != "POST" {
        return (405, format!("{} is not POST", seen.method));
    }
    let (host, key, location, urls) = match fields(seen) {
        Ok(f) => f,
        Err(why) => return (400, why),
    };
    let key_form = (8..=128).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !key_form {
        return (422, "the key is not of the protocol's form".into());
    }
    let location = location.unwrap_or_else(|| format!("https://{host}/{key}.txt"));
    if host_of(&location) != Some(host.as_str()) {
        return (422, format!("keyLocation {location} is not on host {host}"));
    }
    let dir = &location[..=location.rfind('/').expect("a scheme's slashes")];
    if let Some(u) = urls
        .iter()
        .find(|u| host_of(u) != Some(host.as_str()) || !u.starts_with(dir))
    {
        return (
            422,
            format!("URL {u} is not on host {host} under keyLocation's directory"),
        );
    }
    match fetch(&location) {
        Err(why) => return (403, format!("key file not found: {why}")),
        Ok(body) if body.trim() != key => return (403, "key file holds another key".into()),
        Ok(_) => {}
    }
    match validated.insert(key) {
        true => (202, "received; key validation pending".into()),
        false => (200, "received".into()),
    }
}

/// The body's host, key, keyLocation and urlList, or why it is malformed.
fn fields(seen: &Seen) -> Result<(String, String, Option<String>, Vec<String>), String> {
    let json_type = seen
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json"));
    if !json_type {
        return Err(format!("content type {:?}", seen.header("content-type")));
    }
    let v: Value = serde_json::from_slice(&seen.body).map_err(|e| format!("not JSON: {e}"))?;
    let text = |k: &str| match &v[k] {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::Null | Value::String(_) => Err(format!("no {k}")),
        other => Err(format!("{k} is not a string: {other}")),
    };
    let (host, key) = (text("host")?, text("key")?);
    let location = match v.get("keyLocation") {
        None => None,
        Some(_) => Some(text("keyLocation")?),
    };
    let list = v["urlList"].as_array().ok_or("no urlList array")?;
    if list.is_empty() || list.len() > MAX_URLS {
        return Err(format!("{} URLs (1 to {MAX_URLS})", list.len()));
    }
    let urls = list
        .iter()
        .map(|u| u.as_str().map(str::to_owned).ok_or(format!("URL {u}")))
        .collect::<Result<_, _>>()?;
    Ok((host, key, location, urls))
}

/// The host name of an http(s) URL, without port.
fn host_of(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    (!host.is_empty() && !host.contains('@')).then_some(host)
}

/// GETs `url` as a search engine checks a key file: 200 and the body, or why not.
fn fetch(url: &str) -> Result<String, String> {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .new_agent();
    let mut r = agent.get(url).call().map_err(|e| e.to_string())?;
    match r.status().as_u16() {
        200 => r.body_mut().read_to_string().map_err(|e| e.to_string()),
        s => Err(format!("{url} answered {s}")),
    }
}

/// A tiny static web server on 127.0.0.1: a GET of a path it holds
/// answers 200 with its body, anything else 404. Stops when dropped.
pub struct StaticFiles {
    server: FakeX,
    files: Arc<Mutex<HashMap<String, String>>>,
}

impl StaticFiles {
    pub fn start() -> StaticFiles {
        let files = Arc::new(Mutex::new(HashMap::<String, String>::new()));
        let server = {
            let files = files.clone();
            FakeX::serve_with(None, move |seen| {
                let files = files.lock().unwrap_or_else(|e| e.into_inner());
                Some(match (seen.method.as_str(), files.get(seen.path())) {
                    ("GET", Some(body)) => {
                        Reply::new(200, body).header("Content-Type", "text/plain; charset=utf-8")
                    }
                    _ => Reply::new(404, "not found"),
                })
            })
        };
        StaticFiles { server, files }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        self.server.url()
    }

    /// Serves `body` at `path` (`/attacks/KEY.txt`) from now on.
    pub fn put(&self, path: &str, body: &str) {
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_owned(), body.to_owned());
    }

    pub fn remove(&self, path: &str) {
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(path);
    }
}
