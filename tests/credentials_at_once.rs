//! Missing and refused credentials are reported all at once: every missing
//! key in one message, the options file's names first (cron and systemd see
//! no login environment), and `verify-credentials` says every sink's result,
//! one line each.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};

const VARS: [&str; 8] = [
    "TWITTER_CONSUMER_KEY",
    "TWITTER_CONSUMER_SECRET",
    "TWITTER_ACCESS_TOKEN",
    "TWITTER_ACCESS_TOKEN_SECRET",
    "MASTODON_TOKEN",
    "BLUESKY_APP_PASSWORD",
    "ABUSEIPDB_KEY",
    "WEBHOOK_URL",
];

/// A temp dir with an options file `opts.toml` (mode 0600) holding `text`.
fn dir_with(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let opts = dir.path().join("opts.toml");
    fs::write(&opts, format!("passwd = \"no-such-passwd\"\n{text}")).unwrap();
    fs::set_permissions(&opts, fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(dir.path().join("auth.log"), "").unwrap();
    fs::write(dir.path().join("vsftpd.log"), "").unwrap();
    dir
}

fn tool(dir: &tempfile::TempDir, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tweet-attacks"));
    c.args(args)
        .current_dir(dir.path())
        .env("TZ", "UTC")
        .env("TWEET_ATTACKS_NOW", "2026-11-26T12:00:00Z")
        // Never the host's own options file.
        .env_remove("TWEET_ATTACKS_CONFIG")
        .env(
            "TWEET_ATTACKS_DEFAULT_CONFIG",
            dir.path().join("no-default.toml"),
        )
        .stdin(Stdio::null());
    for var in VARS {
        c.env_remove(var);
    }
    c.envs(env.iter().copied());
    c.output().unwrap()
}

fn run(dir: &tempfile::TempDir, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut args = vec![
        "run",
        "--config",
        "opts.toml",
        "--state",
        "state.json",
        "--auth-log",
        "auth.log",
        "--vsftpd-log",
        "vsftpd.log",
    ];
    args.extend_from_slice(extra);
    tool(dir, &args, env)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn with_one_x_key_set_the_three_others_are_named_in_one_message_file_first() {
    let dir = dir_with("");
    let out = run(&dir, &[], &[("TWITTER_CONSUMER_KEY", "ck-value")]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(
        err,
        "tweet-attacks: missing in opts.toml: twitter-consumer-secret, twitter-access-token, \
         twitter-access-token-secret (or, in the environment: TWITTER_CONSUMER_SECRET, \
         TWITTER_ACCESS_TOKEN, TWITTER_ACCESS_TOKEN_SECRET)\n"
    );
    // The file's key set, the variables' none: the same three, at once.
    let dir =
        dir_with("twitter-consumer-key = \"ck-value\"\n[mastodon]\nvisibility = \"public\"\n");
    let out = run(&dir, &["--sink", "twitter", "--sink", "mastodon"], &[]);
    let err = stderr(&out);
    assert!(
        err.contains(
            "missing in opts.toml: twitter-consumer-secret, twitter-access-token, \
             twitter-access-token-secret, [mastodon] instance, [mastodon] token (or, in the \
             environment: TWITTER_CONSUMER_SECRET, TWITTER_ACCESS_TOKEN, \
             TWITTER_ACCESS_TOKEN_SECRET, MASTODON_TOKEN)"
        ),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn the_cron_runs_message_names_the_options_file_first() {
    let dir = dir_with("");
    let out = run(&dir, &["--if-configured"], &[]);
    assert!(out.status.success());
    let said = stderr(&out);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.contains("not configured yet"), "{said}");
    assert!(!said.contains("set it in the environment"), "{said}");
    let key = said.find("missing in opts.toml: twitter-consumer-key,");
    let var = said.find("TWITTER_CONSUMER_KEY");
    assert!(key.is_some() && key < var, "the file's name first: {said}");
}

/// A server on 127.0.0.1 that refuses every request with a 401.
fn refusing_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 65536];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n\
                  Content-Length: 2\r\nConnection: close\r\n\r\n{}",
            );
        }
    });
    url
}

#[test]
fn verify_credentials_says_every_sinks_result_one_line_each() {
    let api = refusing_server();
    let dir = dir_with(&format!(
        "twitter-api-url = \"{api}\"\n\
         twitter-consumer-key = \"ck-value\"\ntwitter-consumer-secret = \"cs-value\"\n\
         twitter-access-token = \"at-value\"\ntwitter-access-token-secret = \"ats-value\"\n\
         [mastodon]\ninstance = \"{api}\"\ntoken = \"token-value\"\n\
         [bluesky]\nhandle = \"a.bsky.social\"\napp-password = \"pw-value\"\nservice = \"{api}\"\n\
         [abuseipdb]\nkey = \"key-value\"\napi-url = \"{api}\"\n\
         [webhook]\nurl = \"{api}/hook\"\n"
    ));
    let out = tool(&dir, &["verify-credentials", "--config", "opts.toml"], &[]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("webhook: not checked"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 5, "{err}");
    for (line, sink) in lines
        .iter()
        .zip(["twitter", "mastodon", "bluesky", "abuseipdb"])
    {
        assert!(
            line.starts_with(&format!(
                "tweet-attacks: {sink}: the credentials check failed: "
            )),
            "{err}"
        );
    }
    assert_eq!(lines[4], "tweet-attacks: 4 of 5 credentials checks failed");
    for secret in [
        "cs-value",
        "at-value",
        "ats-value",
        "token-value",
        "pw-value",
        "key-value",
    ] {
        assert!(!err.contains(secret), "{err}");
    }
}
