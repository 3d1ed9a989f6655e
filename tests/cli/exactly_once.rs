//! Each sink is killed while it posts (after the service answered, before
//! the outbox knew), and the next run must not make the post twice. Every
//! fake here keeps state across both runs and de-duplicates the way the real
//! service does: X answers a repeated text with its duplicate error,
//! Mastodon replays a known Idempotency-Key, a PDS keeps one record per
//! record key, a webhook receiver drops an `id` it has seen, and AbuseIPDB
//! refuses a second report of an address within 15 minutes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::fake_x::{FakeX, Reply, Seen};
use super::sinks::{already_reported, reported};
use super::*;
use serde_json::json;

// Globally routable, so AbuseIPDB hears of them too.
pub(super) const IP: &str = "45.148.10.5";
pub(super) const OTHER: &str = "61.177.172.13";

/// The outbox entries, as (sink, ip) pairs.
fn outbox(env: &Env) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = env.state()["outbox"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["sink"].as_str().unwrap().into(),
                p["ip"].as_str().unwrap().into(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Two attackers due; the options file configures `sections`.
pub(super) fn two_due(sections: &str) -> Env {
    let env = Env::new();
    env.write("auth.log", &(guesses(IP, 8, 100) + &guesses(OTHER, 6, 200)))
        .write("vsftpd.log", "")
        .write(
            "sinks.toml",
            &format!("passwd = \"no-such-passwd\"\n{sections}"),
        );
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(env.path("sinks.toml"), fs::Permissions::from_mode(0o600)).unwrap();
    env
}

fn run_sink(env: &Env, sink: &str) -> Command {
    match sink {
        "twitter" => env.x_cmd(&fs::read_to_string(env.path("x-url")).unwrap(), &[]),
        _ => env.run_on_files(&["--config", "sinks.toml", "--sink", sink]),
    }
}

/// Kills the first run after its first post was answered, runs again ten
/// minutes later, and returns the second run's output.
fn kill_then_rerun(env: &mut Env, sink: &str) -> Out {
    kill_at(env, run_sink(env, sink), "post:answered");
    assert_eq!(
        outbox(env).len(),
        2,
        "the kill came before the outbox learnt of the post"
    );
    // More guesses meanwhile: the retry still sends what the first attempt sent.
    env.append("auth.log", &guesses(IP, 3, 900));
    env.now = "2026-11-26T12:10:00Z".into();
    let out = Out(run_sink(env, sink).output().unwrap()).ok();
    assert_eq!(outbox(env), [], "{}", out.stderr());
    out
}

/// What a receiver took in, after its own de-duplication: per announced
/// address, how many accepted posts named it.
fn per_address<'a>(texts: impl IntoIterator<Item = &'a str>) -> BTreeMap<&'static str, usize> {
    let mut n = BTreeMap::from([(IP, 0), (OTHER, 0)]);
    for text in texts {
        for (ip, count) in n.iter_mut() {
            if text.contains(ip) {
                *count += 1;
            }
        }
    }
    n
}

fn each_once() -> BTreeMap<&'static str, usize> {
    BTreeMap::from([(IP, 1), (OTHER, 1)])
}

/// A PDS's `com.atproto.repo` as far as posting goes: one record per key;
/// `putRecord` replaces, `createRecord` with a taken key is a 500.
#[derive(Default)]
struct Pds {
    records: BTreeMap<String, serde_json::Value>,
    writes: usize,
}

fn fake_pds() -> (FakeX, Arc<Mutex<Pds>>) {
    let pds = Arc::new(Mutex::new(Pds::default()));
    let shared = pds.clone();
    let fake = FakeX::serve_with(None, move |seen: &Seen| {
        let mut pds = shared.lock().unwrap();
        match seen.path() {
            "/xrpc/com.atproto.server.createSession" => Some(Reply::json(
                200,
                r#"{"did":"did:plc:attacklog42","handle":"a.bsky.social","accessJwt":"JWT","refreshJwt":"R","active":true}"#,
            )),
            path @ ("/xrpc/com.atproto.repo.putRecord" | "/xrpc/com.atproto.repo.createRecord") => {
                let body = seen.json();
                let key = body["rkey"].as_str().unwrap_or("(a fresh TID)").to_string();
                let key = match key.as_str() {
                    "(a fresh TID)" => format!("fresh{}", pds.writes),
                    _ => key,
                };
                pds.writes += 1;
                if path.ends_with("createRecord") && pds.records.contains_key(&key) {
                    return Some(Reply::json(
                        500,
                        r#"{"error":"InternalServerError","message":"Internal Server Error"}"#,
                    ));
                }
                pds.records.insert(key.clone(), body["record"].clone());
                Some(Reply::json(
                    200,
                    &json!({
                        "uri": format!("at://did:plc:attacklog42/app.bsky.feed.post/{key}"),
                        "cid": "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxgf5g5gmikvxylxuu"
                    })
                    .to_string(),
                ))
            }
            _ => None,
        }
    });
    (fake, pds)
}

#[test]
fn bluesky_killed_after_the_pds_answered_posts_each_once() {
    let (pds, records) = fake_pds();
    let mut env = two_due(&format!(
        "[bluesky]\nhandle = \"a.bsky.social\"\napp-password = \"pw-pw-pw\"\nservice = \"{}\"\n",
        pds.url()
    ));
    kill_then_rerun(&mut env, "bluesky");
    let records = records.lock().unwrap();
    assert_eq!(records.writes, 3, "the killed post was written again");
    let texts: Vec<&str> = records
        .records
        .values()
        .map(|r| r["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        per_address(texts),
        each_once(),
        "one record per announcement"
    );
    for r in records.records.values() {
        assert_eq!(r["createdAt"], NOW, "the time the batch was made: {r}");
    }
    drop(pds);
}

/// X's `POST /2/tweets`: a text it already has is refused as a duplicate.
#[test]
fn x_killed_after_it_answered_posts_each_once() {
    let texts: Arc<Mutex<Vec<String>>> = Arc::default();
    let (shared, mut n) = (texts.clone(), 0);
    let x = FakeX::serve_with(Some(super::fake_x::KEYS), move |seen: &Seen| {
        let mut texts = shared.lock().unwrap();
        let text = seen.text();
        if texts.contains(&text) {
            return Some(Reply::duplicate());
        }
        texts.push(text);
        n += 1;
        Some(Reply::created(&format!("18{n:017}")))
    });
    let mut env = two_due("");
    env.write("x-url", x.url());
    kill_then_rerun(&mut env, "twitter");
    assert_eq!(x.requests().len(), 3, "the killed post was sent again");
    let texts = texts.lock().unwrap();
    assert_eq!(per_address(texts.iter().map(String::as_str)), each_once());
}

/// Mastodon keeps the status made under an Idempotency-Key and answers a
/// repeat with it instead of posting again.
#[test]
fn mastodon_killed_after_it_answered_posts_each_once() {
    let statuses: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let shared = statuses.clone();
    let fake = FakeX::serve_with(None, move |seen: &Seen| match seen.path() {
        "/api/v2/instance" => Some(Reply::json(
            200,
            r#"{"domain":"m.example","configuration":{"statuses":{"max_characters":500}}}"#,
        )),
        "/api/v1/statuses" => {
            let mut statuses = shared.lock().unwrap();
            let key = seen.header("idempotency-key").unwrap_or("").to_string();
            let n = statuses.len();
            let text = seen.json()["status"].as_str().unwrap().to_string();
            if key.is_empty() {
                statuses.insert(format!("no key {n}"), text);
            } else {
                statuses.entry(key).or_insert(text);
            }
            Some(Reply::json(
                200,
                &format!(r#"{{"id":"1130000000000000{n:02}","visibility":"public"}}"#),
            ))
        }
        _ => None,
    });
    let mut env = two_due(&format!(
        "[mastodon]\ninstance = \"{}\"\ntoken = \"tok-tok-tok\"\n",
        fake.url()
    ));
    kill_then_rerun(&mut env, "mastodon");
    let posts = fake
        .requests()
        .iter()
        .filter(|r| r.path() == "/api/v1/statuses")
        .count();
    assert_eq!(posts, 3, "the killed post was sent again");
    let statuses = statuses.lock().unwrap();
    assert_eq!(
        per_address(statuses.values().map(String::as_str)),
        each_once()
    );
}

/// A webhook receiver that drops a payload whose `id` it has seen, and
/// checks the `Idempotency-Key` header says the same.
#[test]
fn webhook_killed_after_it_answered_delivers_each_once() {
    let taken: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let shared = taken.clone();
    let fake = FakeX::serve_with(None, move |seen: &Seen| {
        let body = seen.json();
        let id = body["id"].as_str().unwrap_or("").to_string();
        if seen.header("idempotency-key") != Some(id.as_str()) {
            return None;
        }
        let text = body["text"].as_str().unwrap().to_string();
        let mut taken = shared.lock().unwrap();
        let n = taken.len();
        match id.is_empty() {
            true => taken.insert(format!("no id {n}"), text),
            false => taken.insert(id, text),
        };
        Some(Reply::new(200, "ok"))
    });
    let mut env = two_due(&format!("[webhook]\nurl = \"{}/hook\"\n", fake.url()));
    kill_then_rerun(&mut env, "webhook");
    assert_eq!(fake.requests().len(), 3, "the killed post was sent again");
    let taken = taken.lock().unwrap();
    assert_eq!(per_address(taken.values().map(String::as_str)), each_once());
}

/// AbuseIPDB takes one report of an address in 15 minutes; a second one is
/// a 429 saying so.
#[test]
fn abuseipdb_killed_after_it_answered_reports_each_once() {
    let reports: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let shared = reports.clone();
    let fake = FakeX::serve_with(None, move |seen: &Seen| {
        let ip = seen.field("ip");
        let mut reports = shared.lock().unwrap();
        let recent = reports
            .iter()
            .any(|(r, at)| *r == ip && at.elapsed() < Duration::from_secs(15 * 60));
        if recent {
            return Some(already_reported(&ip));
        }
        reports.push((ip.clone(), Instant::now()));
        Some(reported(&ip))
    });
    let mut env = two_due(&format!(
        "[abuseipdb]\nkey = \"abuse-key-0123\"\napi-url = \"{}\"\n",
        fake.url()
    ));
    kill_then_rerun(&mut env, "abuseipdb");
    assert_eq!(fake.requests().len(), 3, "the killed report was sent again");
    let reports = reports.lock().unwrap();
    assert_eq!(
        per_address(reports.iter().map(|(ip, _)| ip.as_str())),
        each_once()
    );
}

/// The other way a reply is lost: the receiver takes the post and holds its
/// answer; the run is killed while it waits, mid-request. The retry must be
/// recognised, by the webhook's id and by the Bluesky record key.
#[test]
fn killed_while_the_receiver_holds_its_reply_each_is_taken_once() {
    for sink in ["webhook", "bluesky"] {
        let taken: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
        let shared = taken.clone();
        let fake = FakeX::serve_with(None, move |seen: &Seen| {
            if seen.path() == "/xrpc/com.atproto.server.createSession" {
                return Some(Reply::json(
                    200,
                    r#"{"did":"did:plc:a","handle":"a.bsky.social","accessJwt":"JWT"}"#,
                ));
            }
            let body = seen.json();
            // The webhook's id, or the record key: what the receiver keys on.
            let (key, text) = match body["rkey"].as_str() {
                Some(rkey) => (rkey.to_string(), body["record"]["text"].clone()),
                None => (body["id"].as_str()?.to_string(), body["text"].clone()),
            };
            let mut taken = shared.lock().unwrap();
            let first = taken.is_empty();
            taken.insert(key, text.as_str()?.to_string());
            Some(match first {
                true => Reply::hang(),
                false => Reply::json(
                    200,
                    r#"{"uri":"at://did:plc:a/app.bsky.feed.post/x","cid":"b"}"#,
                ),
            })
        });
        let section = match sink {
            "webhook" => format!("[webhook]\nurl = \"{}/services/T/B/X\"\n", fake.url()),
            _ => format!(
                "[bluesky]\nhandle = \"a.bsky.social\"\napp-password = \"pw-pw-pw\"\nservice = \"{}\"\n",
                fake.url()
            ),
        };
        let mut env = two_due(&section);
        let mut child = run_sink(&env, sink)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while taken.lock().unwrap().is_empty() {
            assert!(
                child.try_wait().unwrap().is_none(),
                "{sink}: ended before posting"
            );
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{sink}: never posted"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "{sink}: still waiting for the reply"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(outbox(&env).len(), 2, "{sink}: killed before it knew");
        env.now = "2026-11-26T12:10:00Z".into();
        Out(run_sink(&env, sink).output().unwrap()).ok();
        assert_eq!(outbox(&env), [], "{sink}");
        let taken = taken.lock().unwrap();
        assert_eq!(
            per_address(taken.values().map(String::as_str)),
            each_once(),
            "{sink}"
        );
    }
}
