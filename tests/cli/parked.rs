//! A post a sink refuses for good (a 4xx but 401, 403 and 429) is parked
//! with its reason, the rest of the queue goes on, `show` and `outbox` list
//! it, and `outbox retry` or `outbox drop` settles it. A refused credential
//! still stops the sink, with nothing parked.

use std::sync::{Arc, Mutex};

use super::fake_x::{FakeX, Reply, Seen};
use super::*;

use super::exactly_once::{IP, OTHER, two_due};

fn run(env: &Env, sink: &str) -> Out {
    Out(env
        .run_on_files(&["--config", "sinks.toml", "--sink", sink])
        .output()
        .unwrap())
}

fn outbox_cmd(env: &Env, args: &[&str]) -> Out {
    let mut all = vec!["outbox", "--state", "state.json"];
    all.extend_from_slice(args);
    Out(env.cmd(&all).output().unwrap())
}

fn parked(env: &Env) -> Vec<Value> {
    env.state()["outbox"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["parked"].is_null())
        .cloned()
        .collect()
}

/// A Mastodon that refuses any status naming `IP` while `refuse` holds.
fn mastodon(refuse: Arc<Mutex<bool>>) -> FakeX {
    FakeX::serve_with(None, move |seen: &Seen| match seen.path() {
        "/api/v2/instance" => Some(Reply::json(
            200,
            r#"{"domain":"m.example","configuration":{"statuses":{"max_characters":500}}}"#,
        )),
        "/api/v1/statuses"
            if *refuse.lock().unwrap() && seen.json()["status"].as_str()?.contains(IP) =>
        {
            Some(Reply::json(
                422,
                r#"{"error":"Validation failed: Text contains a disallowed link"}"#,
            ))
        }
        "/api/v1/statuses" => Some(Reply::json(200, r#"{"id":"113000000000000009"}"#)),
        _ => None,
    })
}

fn statuses(fake: &FakeX) -> Vec<String> {
    fake.requests()
        .iter()
        .filter(|r| r.path() == "/api/v1/statuses")
        .map(|r| r.json()["status"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_refused_post_is_parked_the_queue_goes_on_and_retry_sends_it_again() {
    let refuse = Arc::new(Mutex::new(true));
    let fake = mastodon(refuse.clone());
    let env = two_due(&format!(
        "[mastodon]\ninstance = \"{}\"\ntoken = \"tok-tok-tok\"\n",
        fake.url()
    ));
    let err = run(&env, "mastodon").one_error_line();
    assert!(
        err.contains("mastodon: parked 1 post(s) refused for good"),
        "{err}"
    );
    assert!(
        err.contains("Mastodon refused the status as invalid (422)"),
        "{err}"
    );
    assert!(err.contains("disallowed link"), "{err}");
    let sent = statuses(&fake);
    assert_eq!(sent.len(), 2, "the post behind it went on: {sent:?}");
    assert!(sent[0].contains(IP) && sent[1].contains(OTHER), "{sent:?}");
    let p = parked(&env);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0]["ip"], IP);
    assert!(p[0]["parked"]["reason"].as_str().unwrap().contains("(422)"));
    let id = p[0]["batch"].as_u64().unwrap().to_string();

    // Parked: the next runs leave it alone, in silence.
    let out = run(&env, "mastodon").ok();
    assert_eq!(out.stderr(), "");
    assert_eq!(statuses(&fake).len(), 2);

    // Listed by `outbox` (and `--json`) and under `show`'s table.
    let listing = outbox_cmd(&env, &[]).ok().stdout();
    let line = listing
        .lines()
        .find(|l| l.contains(IP))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(
        line.trim_start().starts_with(&id) && line.contains("mastodon") && line.contains("(422)"),
        "{listing}"
    );
    assert!(listing.contains("retry ID"), "{listing}");
    let json: Value = serde_json::from_str(&outbox_cmd(&env, &["--json"]).ok().stdout()).unwrap();
    assert_eq!(json["parked"][0]["id"].to_string(), id);
    assert_eq!(json["parked"][0]["ips"], serde_json::json!([IP]));
    assert_eq!(json["sinks"][0]["sink"], "mastodon");
    assert_eq!(json["sinks"][0]["parked"], 1);
    assert_eq!(json["sinks"][0]["waiting"], 0);
    // `show --json`: the attacker's line names its parked post.
    let rows = Out(env
        .cmd(&["show", "--state", "state.json", "--json"])
        .output()
        .unwrap())
    .ok()
    .json_lines();
    let row = |ip: &str| rows.iter().find(|r| r["ip"] == ip).unwrap().clone();
    assert_eq!(row(IP)["parked"][0]["id"].to_string(), id, "{rows:?}");
    assert_eq!(row(IP)["parked"][0]["sink"], "mastodon");
    assert!(
        row(IP)["parked"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("(422)")
    );
    assert!(row(OTHER).get("parked").is_none(), "{rows:?}");
    let shown = Out(env
        .cmd(&["show", "--state", "state.json"])
        .output()
        .unwrap())
    .ok()
    .stdout();
    assert!(
        shown.contains("Parked posts") && shown.contains("(422)"),
        "{shown}"
    );

    // An unknown ID changes nothing.
    let err = outbox_cmd(&env, &["retry", "999"]).one_error_line();
    assert!(err.contains("no parked post 999"), "{err}");
    assert_eq!(parked(&env).len(), 1);

    // Retried once the cause is fixed: the same post goes out, once.
    *refuse.lock().unwrap() = false;
    outbox_cmd(&env, &["retry", &id]).ok();
    assert_eq!(parked(&env).len(), 0);
    run(&env, "mastodon").ok();
    let sent = statuses(&fake);
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[2], sent[0], "the same text");
    assert_eq!(env.state()["outbox"], serde_json::json!([]));
    assert!(env.field(IP, "a").is_i64());
}

#[test]
fn a_dropped_post_is_never_sent_and_its_attacker_not_queued_again() {
    let fake = mastodon(Arc::new(Mutex::new(true)));
    let env = two_due(&format!(
        "[mastodon]\ninstance = \"{}\"\ntoken = \"tok-tok-tok\"\n",
        fake.url()
    ));
    run(&env, "mastodon").one_error_line();
    assert_eq!(parked(&env).len(), 1);
    outbox_cmd(&env, &["drop", "all"]).ok();
    assert_eq!(env.state()["outbox"], serde_json::json!([]));
    env.append("auth.log", &guesses(IP, 3, 900));
    run(&env, "mastodon").ok();
    assert_eq!(statuses(&fake).len(), 2, "nothing more");
    assert_eq!(outbox_cmd(&env, &[]).ok().stdout(), "nothing waiting\n");
}

#[test]
fn webhook_404_and_410_and_abuseipdb_422_park_and_401_stops_with_nothing_parked() {
    // Slack's answers for a removed hook and an archived channel.
    for (status, body) in [(404, "no_service"), (410, "channel_is_archived")] {
        let fake = FakeX::serve_with(None, move |seen: &Seen| {
            match seen.json()["text"].as_str()?.contains(IP) {
                true => Some(Reply::new(status, body)),
                false => Some(Reply::new(200, "ok")),
            }
        });
        let env = two_due(&format!(
            "[webhook]\nurl = \"{}/services/T0/B0/X\"\n",
            fake.url()
        ));
        let err = run(&env, "webhook").one_error_line();
        assert!(
            err.contains(&format!("({status})")) && err.contains(body),
            "{err}"
        );
        assert_eq!(fake.requests().len(), 2, "{status}: the queue went on");
        assert_eq!(parked(&env).len(), 1, "{status}");
    }

    let fake = FakeX::serve_with(None, move |seen: &Seen| match seen.field("ip") == IP {
        true => Some(Reply::json(
            422,
            r#"{"errors":[{"detail":"The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888).","status":422,"source":{"parameter":"ip"}}]}"#,
        )),
        false => Some(super::sinks::reported(OTHER)),
    });
    let env = two_due(&format!(
        "[abuseipdb]\nkey = \"abuse-key-0123\"\napi-url = \"{}\"\n",
        fake.url()
    ));
    let err = run(&env, "abuseipdb").one_error_line();
    assert!(
        err.contains("AbuseIPDB refused the report of 45.148.10.5 as invalid (422)"),
        "{err}"
    );
    assert_eq!(fake.requests().len(), 2);
    let p = parked(&env);
    assert_eq!((p.len(), p[0]["ip"].as_str()), (1, Some(IP)));

    // A refused credential: the same answer is coming for every post.
    let fake = FakeX::start_plain(vec![Reply::new(401, "invalid_token")]);
    let env = two_due(&format!(
        "[webhook]\nurl = \"{}/services/T0/B0/XYZSECRET\"\n",
        fake.url()
    ));
    let err = run(&env, "webhook").one_error_line();
    assert!(err.contains("webhook refused the post (401)"), "{err}");
    assert!(err.contains("2 announcement(s) wait"), "{err}");
    assert_eq!(fake.requests().len(), 1, "stopped at the first");
    assert_eq!(parked(&env).len(), 0);
}
