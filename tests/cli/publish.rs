//! What is published, through every path that shows or sends a post: only
//! global addresses (internal ones are counted and shown, marked), and only
//! user names from the built-in list of bots' words.

use std::os::unix::fs::PermissionsExt;

use super::fake_x::{FakeX, Reply};
use super::*;
use serde_json::json;

const GLOBAL: &str = "203.0.113.9";

/// Internal sources as the log names them, and as the table counts them
/// (IPv6 per /64).
const INTERNAL: [(&str, &str); 12] = [
    ("10.1.2.3", "10.1.2.3"),
    ("172.16.0.9", "172.16.0.9"),
    ("192.168.1.20", "192.168.1.20"),
    ("100.64.0.1", "100.64.0.1"),
    ("169.254.1.1", "169.254.1.1"),
    ("0.0.0.0", "0.0.0.0"),
    ("255.255.255.255", "255.255.255.255"),
    ("224.0.0.1", "224.0.0.1"),
    ("198.18.0.7", "198.18.0.7"),
    ("fe80::1", "fe80::"),
    ("fd00::5", "fd00::"),
    ("ff02::1", "ff02::"),
];

/// Seven guesses from the global address, and from each internal one.
fn mixed_log() -> String {
    let mut log = guesses(GLOBAL, 7, 100);
    for (i, (ip, _)) in INTERNAL.iter().enumerate() {
        log.push_str(&guesses(ip, 7, 1000 + 100 * i));
    }
    log
}

/// Asserts that `out` names no internal address.
fn names_no_internal(out: &str) {
    for (ip, key) in INTERNAL {
        assert!(!out.contains(ip) && !out.contains(key), "{ip} in {out}");
    }
}

/// The tool run with `args`, which must succeed.
fn succeeded(env: &Env, args: &[&str]) -> Out {
    Out(env.cmd(args).output().unwrap()).ok()
}

fn stdout_of(env: &Env, args: &[&str]) -> String {
    succeeded(env, args).stdout()
}

#[test]
fn internal_addresses_are_counted_and_shown_but_never_announced() {
    let env = Env::new();
    env.write("auth.log", &mixed_log());

    // What would be posted: replay, and a dry run of the stdout sink.
    for args in [
        &["replay", "auth.log"][..],
        &["replay", "--json", "auth.log"],
    ] {
        let out = stdout_of(&env, args);
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.contains(GLOBAL), "{out}");
        names_no_internal(&out);
    }
    let dry = env.run(&["--dry-run"]).ok().stdout();
    assert_eq!(dry.lines().count(), 1, "{dry}");
    assert!(dry.contains(GLOBAL), "{dry}");

    // The stdout sink posts the global one only; every one is counted.
    let out = env.run(&["--passwd", "no-such-passwd"]).ok();
    assert_eq!(out.stdout().lines().count(), 1, "{}", out.stdout());
    assert!(
        out.stdout()
            .starts_with(&format!("SSH brute force from {GLOBAL}: 7 tries"))
    );
    names_no_internal(&out.stdout());
    assert_eq!(out.stderr(), "");
    assert!(env.field(GLOBAL, "a").is_i64());
    for (_, key) in INTERNAL {
        assert_eq!(env.tries(key), 7, "{key} counted");
        assert!(env.field(key, "a").is_null(), "{key} never announced");
    }
    assert_eq!(env.state()["outbox"], serde_json::json!([]));
    // More tries later change nothing.
    env.append("auth.log", &guesses(INTERNAL[0].0, 3, 9000));
    let again = env.run(&[]).ok();
    assert_eq!(again.stdout(), "");
    assert_eq!(env.tries(INTERNAL[0].1), 10);

    // show and status show them, marked.
    let rows = succeeded(&env, &["show", "--state", "state.json", "--json"]).json_lines();
    assert_eq!(rows.len(), 1 + INTERNAL.len());
    for row in &rows {
        let global = row["ip"] == GLOBAL;
        assert_eq!(row["internal"], !global, "{row}");
    }
    let table = stdout_of(&env, &["show", "--state", "state.json"]);
    let line = table.lines().find(|l| l.starts_with("fd00::")).unwrap();
    assert!(line.contains(" internal "), "{line}");
    let line = table.lines().find(|l| l.starts_with(GLOBAL)).unwrap();
    assert!(!line.contains("internal"), "{line}");
    let status = stdout_of(&env, &["status", "--state", "state.json"]);
    assert!(
        status.contains("attackers  13 (12 internal: counted, never announced)\n"),
        "{status}"
    );

    // Exports: marked in CSV and JSON, left out of the feed and the blocklist.
    let export = |format: &str| {
        stdout_of(
            &env,
            &["export", "--state", "state.json", "--format", format],
        )
    };
    let blocklist = export("blocklist");
    assert_eq!(blocklist, format!("{GLOBAL}\n"));
    let atom = export("atom");
    assert_eq!(atom.matches("<entry>").count(), 1, "{atom}");
    names_no_internal(&atom);
    let csv = export("csv");
    assert_eq!(csv.lines().filter(|l| l.ends_with(",true,,,")).count(), 12);
    assert!(csv.contains(&format!("\n{GLOBAL},7,")), "{csv}");
    let json: Value = serde_json::from_str(&export("json")).unwrap();
    let internal = json.as_array().unwrap().iter();
    assert_eq!(internal.filter(|r| r["internal"] == true).count(), 12);
}

#[test]
fn internal_addresses_are_never_queued_and_old_queued_ones_are_dropped() {
    let env = Env::new();
    env.write("auth.log", &mixed_log());
    let down = FakeX::start(vec![Reply::status(503)]);
    Out(env.x_cmd(down.url(), &[]).output().unwrap()).fails();
    let outbox = env.state()["outbox"].as_array().unwrap().clone();
    let queued: Vec<&str> = outbox.iter().map(|p| p["ip"].as_str().unwrap()).collect();
    assert_eq!(queued, [GLOBAL], "only the global address waits for X");
    names_no_internal(&down.texts().concat());

    // A state saved by a version that queued internal addresses too.
    let mut state = env.state();
    let mut old = outbox[0].clone();
    old["ip"] = json!(INTERNAL[0].1);
    state["outbox"].as_array_mut().unwrap().push(old);
    env.write("state.json", &state.to_string());
    let up = FakeX::start(vec![Reply::created("1")]);
    let out = Out(env.x_cmd(up.url(), &[]).output().unwrap());
    let note = out.one_notice_line();
    assert!(
        note.contains("dropped 1 queued announcement(s) of internal addresses"),
        "{note}"
    );
    let texts = up.texts();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].contains(GLOBAL), "{texts:?}");
    names_no_internal(&texts.concat());
    assert_eq!(env.state()["outbox"], json!([]));
}

/// Ten names, each from its own connection: the two on the list, and what
/// must never be published. The local accounts are `eve` and `deploy`.
const TRIED: [&str; 10] = [
    "admin",
    "ubuntu",
    "Eve",
    "EVE",
    "deploy",
    "DEPLOY",
    "hunter2",
    "AKIAIOSFODNN7EXAMPLE",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "evil.tld",
];

const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
                      eve:x:1000:1000::/home/eve:/bin/sh\n\
                      deploy:x:1001:1001::/home/deploy:/bin/sh\n";

/// Asserts that `out` holds no withheld name, in any form.
fn no_withheld_name(out: &str) {
    for name in &TRIED[2..] {
        assert!(!out.contains(name), "{name} in {out}");
    }
    assert!(!out.to_lowercase().contains("eve"), "{out}");
    assert!(!out.to_lowercase().contains("deploy"), "{out}");
    assert!(!out.contains("evil"), "{out}");
}

#[test]
fn only_listed_names_reach_posts_json_the_webhook_and_exports() {
    let env = Env::new();
    let log: String = TRIED
        .iter()
        .enumerate()
        .map(|(i, u)| {
            format!(
                "Nov 26 10:00:{i:02} web01 sshd[{}]: Failed password for invalid user {u} from {GLOBAL} port {} ssh2\n",
                100 + i,
                40000 + i
            )
        })
        .collect();
    env.write("auth.log", &log).write("passwd", PASSWD);
    let text = "Users tried: admin, ubuntu and 8 more.";

    let replay = stdout_of(&env, &["replay", "--passwd", "passwd", "auth.log"]);
    assert!(replay.trim_end().ends_with(text), "{replay}");
    no_withheld_name(&replay);

    let hook = FakeX::start_plain(vec![Reply::status(200)]);
    env.write(
        "sinks.toml",
        &format!(
            "passwd = \"passwd\"\n[webhook]\nurl = \"{}/hook\"\n",
            hook.url()
        ),
    );
    fs::set_permissions(env.path("sinks.toml"), fs::Permissions::from_mode(0o600)).unwrap();
    let out = env
        .run_on_files(&[
            "--config",
            "sinks.toml",
            "--sink",
            "webhook",
            "--sink",
            "stdout",
            "--json",
        ])
        .output()
        .unwrap();
    let out = Out(out).ok();
    let posts = out.json_lines();
    assert_eq!(posts.len(), 1, "{}", out.stdout());
    assert_eq!(posts[0]["users"], json!(["admin", "ubuntu"]));
    assert_eq!(posts[0]["users_more"], 8);
    assert!(posts[0]["text"].as_str().unwrap().ends_with(text));
    no_withheld_name(&out.stdout());
    let sent = hook.requests();
    assert_eq!(sent.len(), 1);
    let payload = sent[0].json();
    assert_eq!(payload["attackers"][0]["users"], json!(["admin", "ubuntu"]));
    no_withheld_name(&payload.to_string());

    for format in ["csv", "json", "atom"] {
        let out = stdout_of(
            &env,
            &[
                "export",
                "--state",
                "state.json",
                "--format",
                format,
                "--passwd",
                "passwd",
            ],
        );
        assert!(out.contains("admin") && out.contains("ubuntu"), "{out}");
        no_withheld_name(&out);
    }
}
