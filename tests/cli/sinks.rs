//! `run --sink mastodon|bluesky|abuseipdb|webhook` end to end, each against
//! a plain HTTP fake on 127.0.0.1: the exact requests, each answer the
//! service can give, that a failing sink neither blocks nor repeats the
//! others, and that no secret ever reaches stdout or stderr.

use std::os::unix::fs::PermissionsExt;

use super::fake_x::{FakeX, Reply, Seen, refused_url};
use super::*;
use serde_json::json;

// Globally routable, so AbuseIPDB hears of it too.
const IP: &str = "45.148.10.5";
const NOW_SECS: i64 = 1_795_694_400;

const MASTODON_TOKEN: &str = "MTOKEN-mastodon-bearer-7f3a";
const BSKY_HANDLE: &str = "attacklog.bsky.social";
const BSKY_PASSWORD: &str = "BSKYPW-abcd-efgh-ijkl";
const BSKY_JWT: &str = "BSKYJWT-eyJhbGciOi-access";
const BSKY_DID: &str = "did:plc:attacklog42";
const ABUSE_KEY: &str = "ABUSEKEY-0123456789abcdef";
const HOOK_PATH: &str = "/hooks/HOOKSECRET-T000-B000";
const HOOK_TOKEN: &str = "HOOKHDR-s3cr3t-bearer";

const SECRETS: [&str; 7] = [
    MASTODON_TOKEN,
    BSKY_PASSWORD,
    BSKY_JWT,
    ABUSE_KEY,
    "HOOKSECRET",
    HOOK_TOKEN,
    "REFRESH-never-used",
];

/// A temp dir whose auth.log holds `log` and whose vsftpd.log holds `ftp`.
fn env_with(log: &str, ftp: &str) -> Env {
    let env = Env::new();
    env.write("auth.log", log).write("vsftpd.log", ftp);
    env
}

/// The options file section for `sink`, its API at `url`.
fn section(sink: &str, url: &str) -> String {
    match sink {
        "mastodon" => {
            format!("[mastodon]\ninstance = \"{url}\"\ntoken = \"{MASTODON_TOKEN}\"\n")
        }
        "bluesky" => format!(
            "[bluesky]\nhandle = \"{BSKY_HANDLE}\"\napp-password = \"{BSKY_PASSWORD}\"\nservice = \"{url}/\"\n"
        ),
        "abuseipdb" => format!("[abuseipdb]\nkey = \"{ABUSE_KEY}\"\napi-url = \"{url}\"\n"),
        "webhook" => format!(
            "[webhook]\nurl = \"{url}{HOOK_PATH}\"\n\
             headers = {{ \"Authorization\" = \"Bearer {HOOK_TOKEN}\", \"X-Title\" = \"brute force\" }}\n"
        ),
        other => panic!("no section for {other}"),
    }
}

/// Writes sinks.toml, mode 0600: the shared top-level keys, then `sections`.
pub(super) fn write_options(env: &Env, top: &str, sections: &[String]) {
    let text = format!("passwd = \"no-such-passwd\"\n{top}{}", sections.concat());
    env.write("sinks.toml", &text);
    fs::set_permissions(env.path("sinks.toml"), fs::Permissions::from_mode(0o600)).unwrap();
}

/// `run --config sinks.toml --sink S…` on the temp dir's logs and state.
fn sink_cmd(env: &Env, sinks: &[&str], extra: &[&str]) -> Command {
    let mut args = vec!["--config", "sinks.toml"];
    for s in sinks {
        args.extend(["--sink", s]);
    }
    args.extend_from_slice(extra);
    env.run_on_files(&args)
}

fn sink_run(env: &Env, sinks: &[&str], extra: &[&str]) -> Out {
    no_secrets(Out(sink_cmd(env, sinks, extra).output().unwrap()))
}

/// No output of any run may hold a secret.
fn no_secrets(out: Out) -> Out {
    out.without(&SECRETS)
}

fn the_error(out: &Out) -> String {
    out.one_error_line()
}

/// The outbox as (sink, ip) pairs, sorted.
fn queued(env: &Env) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = env.state()["outbox"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["sink"].as_str().unwrap().to_string(),
                p["ip"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn q(sink: &str, ip: &str) -> (String, String) {
    (sink.to_string(), ip.to_string())
}

fn is_announced(env: &Env, ip: &str) -> bool {
    env.field(ip, "a").is_i64()
}

/// Where `text` names `ip` itself (not merely an address it prefixes).
fn mentions(text: &str, ip: &str) -> bool {
    text.match_indices(ip)
        .any(|(i, _)| !text[i + ip.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

fn assert_request(seen: &Seen, method: &str, path: &str) {
    assert_eq!(
        (seen.method.as_str(), seen.target.as_str()),
        (method, path),
        "{seen:?}"
    );
}

/// Failed sshd passwords from `ip` on host web01, one per user.
fn ssh_tries(ip: &str, users: &[&str], first_pid: usize) -> String {
    users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            format!(
                "Nov 26 10:00:{i:02} web01 sshd[{}]: Failed password for invalid user {u} from {ip} port {} ssh2\n",
                first_pid + i,
                40000 + i
            )
        })
        .collect()
}

/// vsftpd FAIL LOGIN lines from `ip`, one per user.
fn ftp_tries(ip: &str, users: &[&str]) -> String {
    users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            format!(
                "Thu Nov 26 10:01:{i:02} 2026 [pid 7{i}] [{u}] FAIL LOGIN: Client \"::ffff:{ip}\"\n"
            )
        })
        .collect()
}

// Scripted answers, as each service writes them.

fn instance(max_characters: usize) -> Reply {
    Reply::json(
        200,
        &json!({
            "domain": "mastodon.example",
            "configuration": { "statuses": { "max_characters": max_characters } }
        })
        .to_string(),
    )
}

fn status_created() -> Reply {
    Reply::json(
        200,
        r#"{"id":"113000000000000001","uri":"https://mastodon.example/users/a/statuses/1","visibility":"unlisted"}"#,
    )
}

fn session() -> Reply {
    Reply::json(
        200,
        &json!({
            "did": BSKY_DID,
            "handle": BSKY_HANDLE,
            "accessJwt": BSKY_JWT,
            "refreshJwt": "REFRESH-never-used",
            "active": true
        })
        .to_string(),
    )
}

fn record_created() -> Reply {
    Reply::json(
        200,
        &format!(r#"{{"uri":"at://{BSKY_DID}/app.bsky.feed.post/3kabc","cid":"bafyrei"}}"#),
    )
}

pub(super) fn reported(ip: &str) -> Reply {
    Reply::json(
        200,
        &format!(r#"{{"data":{{"ipAddress":"{ip}","abuseConfidenceScore":52}}}}"#),
    )
}

/// AbuseIPDB's answer to a second report of `ip` within 15 minutes.
pub(super) fn already_reported(ip: &str) -> Reply {
    Reply::json(
        429,
        &json!({ "errors": [{
            "detail": format!("You can only report the same IP address (`{ip}`) once in 15 minutes."),
            "status": 429,
            "source": { "parameter": "ip" }
        }]})
        .to_string(),
    )
}

const SSH_USERS: [&str; 6] = ["oracle", "postgres", "webmaster", "ubuntu", "deploy", "git"];

#[test]
fn mastodon_posts_with_bearer_and_visibility_and_retries_with_the_same_idempotency_key() {
    let env = env_with(&guesses(IP, 6, 100), "");
    let down = FakeX::start_plain(vec![instance(500), Reply::status(503)]);
    write_options(
        &env,
        "",
        &[section("mastodon", down.url()) + "visibility = \"unlisted\"\n"],
    );
    let err = the_error(&sink_run(&env, &["mastodon"], &[]).fails());
    assert!(err.contains("Mastodon server error (503)"), "{err}");
    assert!(
        err.contains("mastodon: 1 announcement(s) wait in the outbox"),
        "{err}"
    );
    assert_eq!(queued(&env), [q("mastodon", IP)]);
    assert!(!is_announced(&env, IP));

    let seen = down.requests();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    assert_request(&seen[0], "GET", "/api/v2/instance");
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {MASTODON_TOKEN}").as_str()),
        "limited-federation instances answer 401 without it"
    );
    let first = &seen[1];
    assert_request(first, "POST", "/api/v1/statuses");
    assert_eq!(
        first.header("authorization"),
        Some(format!("Bearer {MASTODON_TOKEN}").as_str())
    );
    assert_eq!(first.header("content-type"), Some("application/json"));
    let key = first.header("idempotency-key").expect("an Idempotency-Key");
    assert!(key.len() >= 16, "{key}");
    let body = first.json();
    assert_eq!(body.as_object().unwrap().len(), 3, "{body}");
    assert_eq!(body["visibility"], "unlisted");
    assert_eq!(body["language"], "en");
    let status = body["status"].as_str().unwrap();
    assert!(
        mentions(status, IP) && status.contains("6 tries"),
        "{status}"
    );

    // More guesses meanwhile: the queued post keeps its text and its key.
    env.append("auth.log", &guesses(IP, 2, 200));
    let up = FakeX::start_plain(vec![instance(500), status_created()]);
    write_options(
        &env,
        "",
        &[section("mastodon", up.url()) + "visibility = \"unlisted\"\n"],
    );
    let out = sink_run(&env, &["mastodon"], &[]).ok();
    assert_eq!((out.stdout(), out.stderr()), (String::new(), String::new()));
    let seen = up.requests();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    assert_request(&seen[1], "POST", "/api/v1/statuses");
    assert_eq!(seen[1].json(), body, "the same status");
    assert_eq!(
        seen[1].header("idempotency-key"),
        Some(key),
        "the same key, so a post that went through is not made twice"
    );
    assert_eq!(queued(&env), []);
    assert!(is_announced(&env, IP));

    // Nothing due: not even the instance lookup.
    let after = FakeX::start_plain(vec![]);
    write_options(&env, "", &[section("mastodon", after.url())]);
    sink_run(&env, &["mastodon"], &[]).ok();
    assert_eq!(after.requests().len(), 0);
}

#[test]
fn mastodon_refuses_a_post_over_the_instance_limit_without_sending_it() {
    let env = env_with(&guesses(IP, 6, 100), "");
    let small = FakeX::start_plain(vec![instance(100)]);
    write_options(&env, "", &[section("mastodon", small.url())]);
    let err = the_error(&sink_run(&env, &["mastodon"], &[]).fails());
    assert!(
        err.contains("more than the Mastodon instance's limit of 100"),
        "{err}"
    );
    assert!(err.contains("mastodon: parked 1 post(s)"), "{err}");
    assert_eq!(small.requests().len(), 1, "only the lookup, no post");
    assert_eq!(queued(&env), [q("mastodon", IP)]);
    // Parked, not stuck at the head of the queue: later runs are quiet and
    // send nothing, until `outbox retry` puts it back.
    let outbox = &env.state()["outbox"];
    assert!(
        outbox[0]["parked"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("limit of 100")),
        "{outbox}"
    );
    assert_eq!(sink_run(&env, &["mastodon"], &[]).ok().stderr(), "");
    assert_eq!(small.requests().len(), 1, "nothing more sent");
    Out(env
        .cmd(&["outbox", "--state", "state.json", "retry", "all"])
        .output()
        .unwrap())
    .ok();

    // A configured limit is used as it is: no lookup. Visibility defaults to public.
    let big = FakeX::start_plain(vec![status_created()]);
    write_options(
        &env,
        "",
        &[section("mastodon", big.url()) + "max-characters = 1000\n"],
    );
    sink_run(&env, &["mastodon"], &[]).ok();
    let seen = big.requests();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_request(&seen[0], "POST", "/api/v1/statuses");
    assert_eq!(seen[0].json()["visibility"], "public");
    assert_eq!(queued(&env), []);
}

#[test]
fn mastodon_401_names_the_token_without_showing_it_and_429_waits_for_the_reset() {
    let mut env = env_with(&guesses(IP, 6, 100), "");
    // A server that quotes the token back must not make the tool print it.
    let bad = FakeX::start_plain(vec![
        instance(500),
        Reply::json(
            401,
            &format!(r#"{{"error":"The access token {MASTODON_TOKEN} is invalid"}}"#),
        ),
    ]);
    write_options(&env, "", &[section("mastodon", bad.url())]);
    let err = the_error(&sink_run(&env, &["mastodon"], &[]).fails());
    assert!(err.contains("Mastodon refused the status (401)"), "{err}");
    assert!(err.contains("check token in [mastodon]"), "{err}");
    assert!(
        err.contains("The access token <redacted> is invalid"),
        "{err}"
    );
    assert_eq!(queued(&env), [q("mastodon", IP)]);

    let limited = FakeX::start_plain(vec![
        instance(500),
        Reply::json(429, r#"{"error":"Too many requests"}"#)
            .header("X-RateLimit-Reset", "2026-11-26T13:00:00.000Z"),
    ]);
    write_options(&env, "", &[section("mastodon", limited.url())]);
    // A known wait is said once, and is not a failed run.
    let note = sink_run(&env, &["mastodon"], &[]).one_notice_line();
    assert!(
        note.contains(
            "mastodon: Mastodon's rate limit is used up; posting resumes at 2026-11-26T13:00:00Z; \
             1 announcement(s) wait"
        ),
        "{note}"
    );
    assert_eq!(
        env.state()["sinks"]["mastodon"]["blocked_until"],
        NOW_SECS + 3600
    );

    env.now = "2026-11-26T12:59:59Z".into();
    let early = FakeX::start_plain(vec![]);
    write_options(&env, "", &[section("mastodon", early.url())]);
    let out = sink_run(&env, &["mastodon"], &[]).ok();
    assert_eq!(out.stderr(), "", "said once");
    assert_eq!(early.requests().len(), 0, "no request before the reset");
    assert_eq!(queued(&env), [q("mastodon", IP)]);

    env.now = "2026-11-26T13:00:01Z".into();
    let late = FakeX::start_plain(vec![instance(500), status_created()]);
    write_options(&env, "", &[section("mastodon", late.url())]);
    sink_run(&env, &["mastodon"], &[]).ok();
    assert_eq!(late.requests().len(), 2);
    assert_eq!(queued(&env), []);
}

#[test]
fn bluesky_logs_in_only_when_something_is_due_and_once_per_run() {
    let env = env_with(&guesses(IP, 5, 100), "");
    let idle = FakeX::start_plain(vec![]);
    write_options(&env, "", &[section("bluesky", idle.url())]);
    sink_run(&env, &["bluesky"], &[]).ok();
    assert_eq!(idle.requests().len(), 0, "nothing due: no login");

    let other = "45.148.10.9";
    env.append("auth.log", &guesses(IP, 1, 200));
    env.append("auth.log", &guesses(other, 7, 300));
    let bsky = FakeX::start_plain(vec![session(), record_created(), record_created()]);
    write_options(&env, "", &[section("bluesky", bsky.url())]);
    let out = sink_run(&env, &["bluesky"], &[]).ok();
    assert_eq!(out.stderr(), "");

    let seen = bsky.requests();
    assert_eq!(seen.len(), 3, "one login, two posts: {seen:#?}");
    assert_request(&seen[0], "POST", "/xrpc/com.atproto.server.createSession");
    assert_eq!(seen[0].header("authorization"), None);
    assert_eq!(
        seen[0].json(),
        json!({ "identifier": BSKY_HANDLE, "password": BSKY_PASSWORD })
    );
    let mut texts = Vec::new();
    let mut keys = Vec::new();
    for post in &seen[1..] {
        assert_request(post, "POST", "/xrpc/com.atproto.repo.putRecord");
        assert_eq!(
            post.header("authorization"),
            Some(format!("Bearer {BSKY_JWT}").as_str())
        );
        assert_eq!(post.header("content-type"), Some("application/json"));
        let body = post.json();
        assert_eq!(body["repo"], BSKY_DID);
        assert_eq!(body["collection"], "app.bsky.feed.post");
        keys.push(body["rkey"].as_str().unwrap().to_string());
        let record = body["record"].as_object().unwrap();
        assert_eq!(record.len(), 4, "{body}");
        assert_eq!(record["$type"], "app.bsky.feed.post");
        assert_eq!(record["createdAt"], NOW);
        assert_eq!(record["langs"], json!(["en"]));
        texts.push(record["text"].as_str().unwrap().to_string());
    }
    assert_ne!(keys[0], keys[1], "one record key per post: {keys:?}");
    assert!(mentions(&texts[0], other), "most tries first: {texts:?}");
    assert!(mentions(&texts[1], IP), "{texts:?}");
    assert_eq!(queued(&env), []);
    assert!(is_announced(&env, IP) && is_announced(&env, other));

    let after = FakeX::start_plain(vec![]);
    write_options(&env, "", &[section("bluesky", after.url())]);
    sink_run(&env, &["bluesky"], &[]).ok();
    assert_eq!(after.requests().len(), 0);
}

#[test]
fn bluesky_failures_keep_the_queue_and_the_next_run_posts_the_same_text() {
    let env = env_with(&guesses(IP, 6, 100), "");
    let refused = FakeX::start_plain(vec![Reply::json(
        401,
        r#"{"error":"AuthenticationRequired","message":"Invalid identifier or password"}"#,
    )]);
    write_options(&env, "", &[section("bluesky", refused.url())]);
    let err = the_error(&sink_run(&env, &["bluesky"], &[]).fails());
    assert!(err.contains("Bluesky refused the login (401)"), "{err}");
    assert!(
        err.contains("check handle and app-password in [bluesky]"),
        "{err}"
    );
    assert!(err.contains("Invalid identifier or password"), "{err}");
    assert_eq!(refused.requests().len(), 1);
    assert_eq!(queued(&env), [q("bluesky", IP)]);

    // Logged in, but the post fails; the reply quotes the session token.
    let down = FakeX::start_plain(vec![
        session(),
        Reply::json(
            502,
            &format!(r#"{{"error":"UpstreamFailure","message":"no PDS for {BSKY_JWT}"}}"#),
        ),
    ]);
    write_options(&env, "", &[section("bluesky", down.url())]);
    let err = the_error(&sink_run(&env, &["bluesky"], &[]).fails());
    assert!(err.contains("Bluesky server error (502)"), "{err}");
    assert!(err.contains("no PDS for <redacted>"), "{err}");
    assert_eq!(queued(&env), [q("bluesky", IP)]);
    let failed = down.requests()[1].json()["record"]["text"].clone();

    let up = FakeX::start_plain(vec![session(), record_created()]);
    write_options(&env, "", &[section("bluesky", up.url())]);
    sink_run(&env, &["bluesky"], &[]).ok();
    let seen = up.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].json()["record"]["text"], failed, "the same text");
    assert_eq!(queued(&env), []);
}

#[test]
fn abuseipdb_reports_each_address_with_its_categories_and_no_names() {
    let (ssh, ftp, both) = ("45.148.10.5", "61.177.172.13", "218.92.0.44");
    // A private address and a benchmarking one: internal, so never queued
    // at all. A documentation one: announced elsewhere, but not globally
    // routable unicast, so not sent to AbuseIPDB.
    let (lan, bench, doc) = ("10.1.2.3", "198.18.0.7", "203.0.113.5");
    let log = ssh_tries(ssh, &SSH_USERS, 100)
        + &ssh_tries(both, &SSH_USERS[..4], 200)
        + &ssh_tries(lan, &SSH_USERS, 300)
        + &ssh_tries(bench, &SSH_USERS, 400)
        + &ssh_tries(doc, &SSH_USERS, 500);
    let env = env_with(
        &log,
        &(ftp_tries(
            ftp,
            &[
                "ftpadmin",
                "anonymous",
                "www",
                "backup",
                "ftp",
                "test",
                "admin",
            ],
        ) + &ftp_tries(both, &["ftpadmin", "backup", "www", "scanner"])),
    );
    let api = FakeX::start_plain(vec![reported(both), reported(ftp), reported(ssh)]);
    write_options(&env, "", &[section("abuseipdb", api.url())]);
    let out = sink_run(&env, &["abuseipdb"], &[]).ok();
    assert_eq!(out.stderr(), "");

    let seen = api.requests();
    assert_eq!(seen.len(), 3, "one report per address: {seen:#?}");
    let mut by_ip = std::collections::BTreeMap::new();
    for r in &seen {
        assert_request(r, "POST", "/api/v2/report");
        assert_eq!(r.header("key"), Some(ABUSE_KEY));
        assert_eq!(r.header("accept"), Some("application/json"));
        assert_eq!(r.header("authorization"), None);
        let fields: Vec<String> = r.form().into_iter().map(|(k, _)| k).collect();
        assert_eq!(fields, ["ip", "categories", "comment", "timestamp"]);
        let comment = r.field("comment");
        assert!(
            comment.contains("brute force") && comment.contains("tries"),
            "{comment}"
        );
        for private in
            SSH_USERS
                .iter()
                .chain(&["ftpadmin", "anonymous", "backup", "scanner", "web01"])
        {
            assert!(!comment.contains(private), "{private} in {comment}");
        }
        by_ip.insert(
            r.field("ip"),
            (r.field("categories"), comment, r.field("timestamp")),
        );
    }
    assert_eq!(by_ip[ssh].0, "18,22");
    assert_eq!(by_ip[ftp].0, "5,18");
    assert_eq!(by_ip[both].0, "5,18,22");
    assert!(
        by_ip[both].1.starts_with("SSH+FTP brute force: 8 tries"),
        "{:?}",
        by_ip[both]
    );
    assert!(
        by_ip[ssh].1.starts_with("SSH brute force: 6 tries"),
        "{:?}",
        by_ip[ssh]
    );
    assert_eq!(by_ip[ssh].2, "2026-11-26T10:00:05Z", "the last try");
    for ip in [lan, bench, doc] {
        assert!(!by_ip.contains_key(ip), "{ip}");
    }
    assert_eq!(
        queued(&env),
        [],
        "the unreportable addresses are done with too"
    );
    for ip in [ssh, ftp, both, doc] {
        assert!(is_announced(&env, ip), "{ip}");
    }
    for ip in [lan, bench] {
        assert!(!is_announced(&env, ip), "internal: {ip}");
        assert_eq!(env.tries(ip), 6, "but counted: {ip}");
    }
}

#[test]
fn abuseipdb_reports_every_address_of_a_packed_post_once_even_across_a_partial_failure() {
    let (a, b) = ("45.148.10.5", "45.148.10.6");
    let env = env_with(&(guesses(a, 8, 100) + &guesses(b, 6, 200)), "");
    let down = FakeX::start_plain(vec![Reply::status(503)]);
    write_options(&env, "", &[section("abuseipdb", down.url())]);
    let err = the_error(&sink_run(&env, &["abuseipdb"], &[]).fails());
    assert!(err.contains("AbuseIPDB server error (503)"), "{err}");
    assert!(err.contains("2 announcement(s) wait"), "{err}");
    assert_eq!(queued(&env), [q("abuseipdb", a), q("abuseipdb", b)]);

    // Put both in one batch, as a post packing several attackers would.
    let mut state = env.state();
    let batch = state["outbox"][0]["batch"].clone();
    assert!(batch.is_u64(), "{state}");
    for p in state["outbox"].as_array_mut().unwrap() {
        p["batch"] = batch.clone();
    }
    env.write("state.json", &state.to_string());

    // The first address goes through, the second fails: only it stays queued.
    let half = FakeX::start_plain(vec![reported(a), Reply::status(500)]);
    write_options(&env, "", &[section("abuseipdb", half.url())]);
    let err = the_error(&sink_run(&env, &["abuseipdb"], &[]).fails());
    assert!(
        err.contains(&format!(
            "AbuseIPDB server error (500) for the report of {b}"
        )),
        "{err}"
    );
    let ips: Vec<String> = half.requests().iter().map(|r| r.field("ip")).collect();
    assert_eq!(ips, [a, b], "each address of the post, most tries first");
    assert_eq!(
        queued(&env),
        [q("abuseipdb", b)],
        "the address reported is remembered"
    );
    assert!(is_announced(&env, a));

    // The retry, 15 minutes or more later when AbuseIPDB would take a
    // repeat, reports only the rest.
    let retry = FakeX::start_plain(vec![reported(b)]);
    write_options(&env, "", &[section("abuseipdb", retry.url())]);
    let out = sink_run(&env, &["abuseipdb"], &[]).ok();
    assert_eq!(out.stderr(), "");
    let ips: Vec<String> = retry.requests().iter().map(|r| r.field("ip")).collect();
    assert_eq!(ips, [b]);
    assert_eq!(queued(&env), []);
    assert!(is_announced(&env, a) && is_announced(&env, b));
}

#[test]
fn abuseipdb_rate_limit_waits_for_the_reset() {
    let mut env = env_with(&guesses(IP, 6, 100), "");
    let limited = FakeX::start_plain(vec![
        Reply::json(
            429,
            r#"{"errors":[{"detail":"Daily rate limit of 1000 requests exceeded for this endpoint. See headers for additional details.","status":429}]}"#,
        )
        .header("Retry-After", "3600")
        .header("X-RateLimit-Reset", &(NOW_SECS + 7200).to_string()),
    ]);
    write_options(&env, "", &[section("abuseipdb", limited.url())]);
    let note = sink_run(&env, &["abuseipdb"], &[]).one_notice_line();
    assert!(
        note.contains(
            "abuseipdb: AbuseIPDB's rate limit is used up; posting resumes at 2026-11-26T13:00:00Z"
        ),
        "Retry-After first: {note}"
    );
    assert_eq!(queued(&env), [q("abuseipdb", IP)]);

    env.now = "2026-11-26T12:59:59Z".into();
    let early = FakeX::start_plain(vec![]);
    write_options(&env, "", &[section("abuseipdb", early.url())]);
    sink_run(&env, &["abuseipdb"], &[]).ok();
    assert_eq!(early.requests().len(), 0);

    env.now = "2026-11-26T13:00:01Z".into();
    let late = FakeX::start_plain(vec![reported(IP)]);
    write_options(&env, "", &[section("abuseipdb", late.url())]);
    sink_run(&env, &["abuseipdb"], &[]).ok();
    assert_eq!(late.requests().len(), 1);
    assert_eq!(queued(&env), []);
}

#[test]
fn webhook_posts_the_documented_payload_with_its_headers() {
    let env = env_with(&ssh_tries(IP, &SSH_USERS, 100), "");
    let hook = FakeX::start_plain(vec![Reply::new(204, "")]);
    // The sink list from the options file alone.
    write_options(
        &env,
        "sink = [\"webhook\"]\n",
        &[section("webhook", hook.url())],
    );
    let out = sink_run(&env, &[], &["--json"]).ok();
    assert_eq!(out.stderr(), "");

    let seen = hook.requests();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_request(&seen[0], "POST", HOOK_PATH);
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {HOOK_TOKEN}").as_str())
    );
    assert_eq!(seen[0].header("x-title"), Some("brute force"));
    let body = seen[0].json();
    let text = body["text"].as_str().unwrap().to_string();
    assert!(mentions(&text, IP), "{text}");
    let id = body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("tweet-attacks-") && id.len() == 30, "{id}");
    assert_eq!(seen[0].header("idempotency-key"), Some(id.as_str()));
    assert_eq!(
        body,
        json!({
            "id": id,
            "text": text,
            "attackers": [{
                "ip": IP,
                "tries": 6,
                "users": ["oracle", "postgres", "webmaster", "ubuntu", "deploy", "git"],
                "users_more": 0,
                "services": ["sshd"],
                "first": "2026-11-26T10:00:00Z",
                "last": "2026-11-26T10:00:05Z"
            }],
            "source": "tweet-attacks",
            "version": 1
        })
    );
    let report = out.json_lines();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0]["text"], text.as_str());
    assert_eq!(queued(&env), []);
}

#[test]
fn webhook_failures_keep_the_queue_and_never_show_the_url() {
    let env = env_with(&guesses(IP, 6, 100), "");
    // Nothing listens.
    let gone = refused_url();
    write_options(&env, "", &[section("webhook", &gone)]);
    let err = the_error(&sink_run(&env, &["webhook"], &[]).fails());
    assert!(
        err.contains(&format!("cannot reach webhook at {gone}: ")),
        "{err}"
    );
    assert_eq!(queued(&env), [q("webhook", IP)]);

    // A 500 whose body quotes the URL.
    let down = FakeX::start_plain(vec![Reply::new(
        500,
        &format!("upstream failed for POST {HOOK_PATH}"),
    )]);
    write_options(&env, "", &[section("webhook", down.url())]);
    let err = the_error(&sink_run(&env, &["webhook"], &[]).fails());
    assert!(err.contains("webhook server error (500)"), "{err}");
    assert!(err.contains("/<redacted>"), "{err}");
    assert_eq!(queued(&env), [q("webhook", IP)]);

    let refused = FakeX::start_plain(vec![Reply::new(403, "forbidden")]);
    write_options(&env, "", &[section("webhook", refused.url())]);
    let err = the_error(&sink_run(&env, &["webhook"], &[]).fails());
    assert!(
        err.contains("webhook refused the post (403): check url and headers in [webhook]"),
        "{err}"
    );

    let up = FakeX::start_plain(vec![Reply::new(200, "ok")]);
    write_options(&env, "", &[section("webhook", up.url())]);
    sink_run(&env, &["webhook"], &[]).ok();
    assert_eq!(
        up.requests()[0].body,
        down.requests()[0].body,
        "the same payload, with the same id"
    );
    assert_eq!(
        up.requests()[0].header("idempotency-key"),
        down.requests()[0].header("idempotency-key")
    );
    assert_eq!(queued(&env), []);
}

#[test]
fn one_failing_sink_neither_blocks_nor_repeats_the_others() {
    let env = env_with(&guesses(IP, 6, 100), "");
    // Mastodon, the first of them to post, is down.
    let mastodon = FakeX::start_plain(vec![instance(500), Reply::status(503)]);
    let bluesky = FakeX::start_plain(vec![session(), record_created()]);
    let abuseipdb = FakeX::start_plain(vec![reported(IP)]);
    let webhook = FakeX::start_plain(vec![Reply::new(200, "ok")]);
    let all = ["mastodon", "bluesky", "abuseipdb", "webhook"];
    let options = |urls: [&str; 4]| {
        let sections: Vec<String> = all.iter().zip(urls).map(|(s, u)| section(s, u)).collect();
        write_options(&env, "", &sections);
    };
    options([
        mastodon.url(),
        bluesky.url(),
        abuseipdb.url(),
        webhook.url(),
    ]);
    let out = sink_run(&env, &all, &["--sink", "stdout"]).fails();
    let err = the_error(&out);
    assert!(err.contains("mastodon: 1 announcement(s) wait"), "{err}");
    assert!(mentions(&out.stdout(), IP), "stdout still gets it");
    assert_eq!(queued(&env), [q("mastodon", IP)]);
    assert_eq!(mastodon.requests().len(), 2);
    assert_eq!(bluesky.requests().len(), 2, "the others still post");
    assert_eq!(abuseipdb.requests().len(), 1);
    assert_eq!(webhook.requests().len(), 1);
    assert!(is_announced(&env, IP));

    // The next run: only Mastodon is asked, for the same status, once.
    let quiet: Vec<FakeX> = (0..3).map(|_| FakeX::start_plain(vec![])).collect();
    let up = FakeX::start_plain(vec![instance(500), status_created()]);
    options([up.url(), quiet[0].url(), quiet[1].url(), quiet[2].url()]);
    let out = sink_run(&env, &all, &["--sink", "stdout"]).ok();
    assert_eq!(out.stdout(), "", "stdout had it already");
    for fake in &quiet {
        assert_eq!(fake.requests().len(), 0);
    }
    assert_eq!(up.requests()[1].body, mastodon.requests()[1].body);
    assert_eq!(queued(&env), []);
}

#[test]
fn a_sink_named_but_not_configured_is_an_error_naming_what_is_missing() {
    let env = env_with(&guesses(IP, 6, 100), "");
    let api = FakeX::start_plain(vec![]);
    for sink in ["mastodon", "bluesky", "abuseipdb", "webhook"] {
        write_options(&env, "", &[]);
        let err = the_error(&sink_run(&env, &[sink], &[]).fails());
        assert!(
            err.contains(&format!("missing in sinks.toml: [{sink}] ")),
            "{err}"
        );
        assert!(
            !env.path("state.json").exists(),
            "refused before anything ran"
        );
    }
    let missing = [
        (
            "mastodon",
            "token",
            format!("[mastodon]\ninstance = \"{}\"\n", api.url()),
        ),
        (
            "bluesky",
            "app-password",
            format!("[bluesky]\nhandle = \"{BSKY_HANDLE}\"\n"),
        ),
        (
            "abuseipdb",
            "key",
            format!("[abuseipdb]\napi-url = \"{}\"\n", api.url()),
        ),
        (
            "webhook",
            "url",
            "[webhook]\nheaders = { \"X-A\" = \"b\" }\n".to_string(),
        ),
    ];
    for (sink, key, text) in missing {
        write_options(&env, "", &[text]);
        let err = the_error(&sink_run(&env, &[sink], &[]).fails());
        assert!(
            err.contains(&format!("missing in sinks.toml: [{sink}] {key}")),
            "{err}"
        );
        assert!(!env.path("state.json").exists());
    }
    assert_eq!(api.requests().len(), 0);

    // A dry run checks the sections too: it does everything but the sending.
    write_options(&env, "", &[]);
    let err = the_error(&sink_run(&env, &["mastodon"], &["--dry-run"]).fails());
    assert!(
        err.contains("missing in sinks.toml: [mastodon] instance, [mastodon] token"),
        "{err}"
    );
    // Configured, it shows what would be posted, and asks nothing.
    write_options(
        &env,
        "",
        &[
            section("mastodon", api.url()),
            section("abuseipdb", api.url()),
        ],
    );
    let out = sink_run(&env, &["mastodon", "abuseipdb"], &["--dry-run"]).ok();
    let shown = out.stdout();
    assert_eq!(shown.lines().count(), 2, "{shown}");
    assert!(
        shown.starts_with("[mastodon] ") && mentions(&shown, IP),
        "{shown}"
    );
    assert!(!env.path("state.json").exists());
    assert_eq!(api.requests().len(), 0, "a dry run sends nothing");
}

#[test]
fn sink_secrets_make_the_options_file_private() {
    let env = env_with(&guesses(IP, 6, 100), "");
    let api = FakeX::start_plain(vec![]);
    for sink in ["mastodon", "bluesky", "abuseipdb", "webhook"] {
        write_options(&env, "", &[section(sink, api.url())]);
        for mode in [0o644, 0o640] {
            fs::set_permissions(env.path("sinks.toml"), fs::Permissions::from_mode(mode)).unwrap();
            let err = the_error(&sink_run(&env, &[sink], &[]).fails());
            assert!(
                err.contains("sinks.toml") && err.contains("chmod 600"),
                "{err}"
            );
            assert!(!env.path("state.json").exists());
        }
    }
    assert_eq!(api.requests().len(), 0);
}

#[test]
fn bluesky_429_waits_for_the_ratelimit_reset_it_gives() {
    let mut env = env_with(&guesses(IP, 6, 100), "");
    // A PDS's answer when the account's write limit is used up.
    let limited = FakeX::start_plain(vec![
        session(),
        Reply::json(
            429,
            r#"{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}"#,
        )
        .header("ratelimit-limit", "5000")
        .header("ratelimit-remaining", "0")
        .header("ratelimit-reset", &(NOW_SECS + 1800).to_string())
        .header("ratelimit-policy", "5000;w=3600"),
    ]);
    write_options(&env, "", &[section("bluesky", limited.url())]);
    let note = sink_run(&env, &["bluesky"], &[]).one_notice_line();
    assert!(
        note.contains(
            "bluesky: Bluesky's rate limit is used up; posting resumes at 2026-11-26T12:30:00Z"
        ),
        "{note}"
    );
    env.now = "2026-11-26T12:15:00Z".into();
    let early = FakeX::start_plain(vec![]);
    write_options(&env, "", &[section("bluesky", early.url())]);
    assert_eq!(sink_run(&env, &["bluesky"], &[]).ok().stderr(), "");
    assert_eq!(early.requests().len(), 0);
    env.now = "2026-11-26T12:30:00Z".into();
    let up = FakeX::start_plain(vec![session(), record_created()]);
    write_options(&env, "", &[section("bluesky", up.url())]);
    sink_run(&env, &["bluesky"], &[]).ok();
    assert_eq!(
        up.requests()[1].json(),
        limited.requests()[1].json(),
        "the same record under the same key"
    );
    assert_eq!(queued(&env), []);
}
