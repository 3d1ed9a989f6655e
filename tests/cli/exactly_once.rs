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
use super::*;
use serde_json::json;

const IP: &str = "203.0.113.5";
const OTHER: &str = "198.51.100.7";

/// Runs `cmd` until it pauses at `point` (the `#N` form allowed), then
/// SIGKILLs it. Returns once it is dead; panics if it never got there.
fn kill_at(env: &Env, mut cmd: Command, point: &str) {
    let file = env.path("paused");
    let _ = fs::remove_file(&file);
    cmd.env("TWEET_ATTACKS_PAUSE_AT", point)
        .env("TWEET_ATTACKS_PAUSE_FILE", &file)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    while !file.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before it reached {point}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never reached {point}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let name = point.split('#').next().unwrap();
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        name,
        "paused where meant"
    );
    child.kill().unwrap();
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "killed, not ended: {status}");
}

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
fn two_due(sections: &str) -> Env {
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
    env.run_on_files(&["--config", "sinks.toml", "--sink", sink])
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
    env.now = "2026-11-26T12:10:00Z".into();
    let out = Out(run_sink(env, sink).output().unwrap()).ok();
    assert_eq!(outbox(env), [], "{}", out.stderr());
    out
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
    assert_eq!(texts.len(), 2, "one record per announcement: {texts:?}");
    assert!(texts.iter().any(|t| t.contains(IP)) && texts.iter().any(|t| t.contains(OTHER)));
    for r in records.records.values() {
        assert_eq!(r["createdAt"], NOW, "the time the batch was made: {r}");
    }
    drop(pds);
}
