//! Every sink's secret from the environment, one variable each;
//! `verify-credentials` checks every configured sink (or those named with
//! `--sink`) without posting; a closed stderr never ends a run before it
//! saves.

use super::exactly_once::{IP, two_due};
use super::fake_x::{FakeX, KEYS, Reply, Seen};

use super::*;
use serde_json::json;

const TOKEN: &str = "ENVTOKEN-mastodon-0123";
const PASSWORD: &str = "ENVPW-bsky-4567";
const KEY: &str = "ENVKEY-abuseipdb-89ab";
const HOOK: &str = "/services/T0/B0/ENVHOOKSECRET";

/// One fake for every service but X: Mastodon, Bluesky, AbuseIPDB and a
/// webhook, each checking that the secret from the environment came along.
fn services() -> FakeX {
    FakeX::serve_with(None, |seen: &Seen| {
        let bearer = |t: &str| seen.header("authorization") == Some(&format!("Bearer {t}"));
        let ok = |body: serde_json::Value| Some(Reply::json(200, &body.to_string()));
        match seen.path() {
            "/api/v2/instance" if bearer(TOKEN) => {
                ok(json!({"configuration": {"statuses": {"max_characters": 500}}}))
            }
            "/api/v1/accounts/verify_credentials" if bearer(TOKEN) => {
                ok(json!({"id": "1", "acct": "attacklog"}))
            }
            "/api/v1/statuses" if bearer(TOKEN) => ok(json!({"id": "113"})),
            "/xrpc/com.atproto.server.createSession" if seen.json()["password"] == PASSWORD => {
                ok(json!({"did": "did:plc:x", "handle": "a.bsky.social", "accessJwt": "JWT-ENV"}))
            }
            "/xrpc/com.atproto.repo.putRecord" if bearer("JWT-ENV") => {
                ok(json!({"uri": "at://did:plc:x/app.bsky.feed.post/3k", "cid": "b"}))
            }
            "/api/v2/check" | "/api/v2/report" if seen.header("key") == Some(KEY) => {
                ok(json!({"data": {"ipAddress": IP, "abuseConfidenceScore": 0}}))
            }
            HOOK => Some(Reply::new(200, "ok")),
            _ => Some(Reply::json(
                401,
                r#"{"error":"The access token is invalid"}"#,
            )),
        }
    })
}

/// Sections without their secrets: those come from the environment.
fn sections(url: &str) -> String {
    format!(
        "[mastodon]\ninstance = \"{url}\"\n\
         [bluesky]\nhandle = \"a.bsky.social\"\nservice = \"{url}\"\n\
         [abuseipdb]\napi-url = \"{url}\"\n"
    )
}

fn with_secrets(mut c: Command, url: &str) -> Command {
    c.env("MASTODON_TOKEN", TOKEN)
        .env("BLUESKY_APP_PASSWORD", PASSWORD)
        .env("ABUSEIPDB_KEY", KEY)
        .env("WEBHOOK_URL", format!("{url}{HOOK}"));
    c
}

const SECRETS: [&str; 4] = [TOKEN, PASSWORD, KEY, "ENVHOOKSECRET"];

#[test]
fn every_sink_takes_its_secret_from_the_environment() {
    let fake = services();
    let env = two_due(&sections(fake.url()));
    let all = ["mastodon", "bluesky", "abuseipdb", "webhook"];
    let mut args = vec!["--config", "sinks.toml"];
    for s in all {
        args.extend(["--sink", s]);
    }
    let out = Out(with_secrets(env.run_on_files(&args), fake.url())
        .output()
        .unwrap())
    .without(&SECRETS)
    .ok();
    assert_eq!(out.stderr(), "");
    assert_eq!(env.state()["outbox"], json!([]), "all four delivered");
    let paths: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| r.path().to_string())
        .collect();
    for p in [
        "/api/v1/statuses",
        "/xrpc/com.atproto.repo.putRecord",
        "/api/v2/report",
        HOOK,
    ] {
        assert!(paths.iter().any(|x| x == p), "{p} in {paths:?}");
    }

    // Without them, each error names its variable.
    let err = Out(env
        .run_on_files(&["--config", "sinks.toml", "--sink", "mastodon"])
        .output()
        .unwrap())
    .one_error_line();
    assert!(
        err.contains("[mastodon] token (or, in the environment: MASTODON_TOKEN)"),
        "{err}"
    );
}

#[test]
fn verify_credentials_checks_every_configured_sink_or_those_named() {
    let fake = services();
    let x = FakeX::start(vec![Reply::me("attacklog")]);
    let env = two_due(&sections(fake.url()));
    let verify = |extra: &[&str], x_keys: bool| {
        let mut args = vec![
            "verify-credentials",
            "--config",
            "sinks.toml",
            "--twitter-api-url",
            x.url(),
        ];
        args.extend_from_slice(extra);
        let mut c = with_secrets(env.cmd(&args), fake.url());
        if x_keys {
            for (var, value) in KEYS.env() {
                c.env(var, value);
            }
        }
        Out(c.output().unwrap())
            .without(&SECRETS)
            .without(&KEYS.all())
    };
    let out = verify(&[], true).ok();
    let origin = fake.url();
    assert_eq!(
        out.stdout(),
        format!(
            "twitter: @attacklog\nmastodon: @attacklog on {origin}\nbluesky: @a.bsky.social (did:plc:x)\n\
             abuseipdb: the key is accepted\n\
             webhook: not checked: a webhook ({origin}) cannot be checked without posting to it\n"
        )
    );
    assert_eq!(x.requests().len(), 1);
    let paths: Vec<String> = fake.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        paths,
        [
            "/api/v1/accounts/verify_credentials",
            "/xrpc/com.atproto.server.createSession",
            "/api/v2/check?ipAddress=127.0.0.1"
        ],
        "nothing posted"
    );

    // Only the one named, and no X credentials needed for it.
    let out = verify(&["--sink", "abuseipdb"], false).ok();
    assert_eq!(out.stdout(), "abuseipdb: the key is accepted\n");

    // A refused token: the others are still checked, the run fails naming it.
    let mut c = env.cmd(&["verify-credentials", "--config", "sinks.toml"]);
    c.env("MASTODON_TOKEN", "wrong-token-value")
        .env("BLUESKY_APP_PASSWORD", PASSWORD)
        .env("ABUSEIPDB_KEY", KEY);
    let out = Out(c.output().unwrap());
    let err = out.one_error_line();
    assert!(
        err.contains("mastodon: the credentials check failed"),
        "{err}"
    );
    assert!(
        err.contains("Mastodon refused the token check (401)"),
        "{err}"
    );
    assert!(
        out.stdout().contains("bluesky: @a.bsky.social"),
        "{}",
        out.stdout()
    );
    assert!(
        !out.stdout().contains("twitter"),
        "X is not configured: {}",
        out.stdout()
    );
}

#[test]
fn a_closed_stderr_never_ends_a_run_before_it_saves() {
    // A line over 64 KiB: a warning on every run that reads it.
    let warned = || {
        let env = Env::new();
        let mut log = guesses(IP, 6, 100);
        log.push_str(&format!("{}\n", "x".repeat(70 << 10)));
        env.write("auth.log", &log);
        env
    };
    let out = warned().run(&[]).ok();
    assert!(
        out.stderr().starts_with("tweet-attacks: warning: ")
            && out.stderr().contains("longer than 64 KiB"),
        "the runs below write a warning: {}",
        out.stderr()
    );

    let env = warned();
    let bin = env!("CARGO_BIN_EXE_tweet-attacks");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec \"{bin}\" run --state state.json --auth-log auth.log --vsftpd-log vsftpd.log \
             --sink stdout 2>&- >/dev/null"
        ))
        .current_dir(env.path(""))
        .env("TWEET_ATTACKS_NOW", NOW)
        .env("TZ", "UTC")
        .env(
            "TWEET_ATTACKS_DEFAULT_CONFIG",
            env.path("default-options.toml"),
        )
        .env_remove("TWEET_ATTACKS_CONFIG")
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(
        env.field(IP, "a").is_i64(),
        "saved, with the attacker announced"
    );

    // An error, too, is one line nobody reads, and the right exit status.
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("exec \"{bin}\" show --state missing.json 2>&-"))
        .current_dir(env.path(""))
        .env(
            "TWEET_ATTACKS_DEFAULT_CONFIG",
            env.path("default-options.toml"),
        )
        .env_remove("TWEET_ATTACKS_CONFIG")
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1), "{status}");

    // A broken pipe (cron's mailer gone): every write to stderr fails.
    let env = warned();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let status = env
        .run_args(&[])
        .stdout(Stdio::null())
        .stderr(Stdio::from(writer))
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(
        env.field(IP, "a").is_i64(),
        "saved after the failed warning"
    );
    assert!(env.state()["logs"]["auth.log"]["offset"].as_u64().unwrap() > 0);
}
