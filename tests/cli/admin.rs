//! What a sysadmin meets: private exports, a blocklist that cannot lock the
//! host out, quiet cron runs, errors that name their cause, the views
//! (`status`, `show` filters), the man page and bash completion.

use super::*;

/// An /etc/passwd with the local accounts the tests try as user names.
const PASSWD: &str =
    "root:x:0:0:root:/root:/bin/bash\npostgres:x:110:118::/var/lib/postgresql:/bin/bash\n";

/// `n` guesses from `ip`, each with user `user`, at 10:MM:SS on `day` (e.g. "Nov 26").
fn guesses_as(ip: &str, user: &str, n: usize, first_pid: usize, day: &str) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{day} 10:{:02}:{:02} web01 sshd[{}]: Failed password for {user} from {ip} port {} ssh2\n",
                i / 60 % 60,
                i % 60,
                first_pid + i,
                40000 + i
            )
        })
        .collect()
}

fn output(mut c: Command) -> Out {
    Out(c.output().unwrap())
}

/// A state with: a local account and a password typed as a user name, a
/// loopback attacker, an ignored one, one with 2 tries.
fn private_env() -> Env {
    let env = Env::new();
    env.write("passwd", PASSWD);
    let mut log = guesses_as("203.0.113.7", "root", 7, 100, "Nov 26");
    log += &guesses_as("203.0.113.7", "Tr0ub4dor&3x1", 1, 200, "Nov 26");
    log += &guesses_as("203.0.113.7", "oracle", 1, 300, "Nov 26");
    log += &guesses_as("127.0.0.1", "admin", 9, 400, "Nov 26");
    log += &guesses_as("192.0.2.50", "admin", 9, 500, "Nov 26");
    log += &guesses_as("198.51.100.3", "admin", 2, 600, "Nov 26");
    env.write("auth.log", &log);
    env.run(&["--passwd", "passwd", "--ignore", "192.0.2.0/24"])
        .ok();
    env
}

fn export(env: &Env, args: &[&str]) -> Out {
    let mut c = env.cmd(&["export", "--state", "state.json", "--passwd", "passwd"]);
    c.args(args);
    output(c).ok()
}

#[test]
fn exports_withhold_what_posts_withhold_unless_asked() {
    let env = private_env();
    for format in ["csv", "json", "atom"] {
        let out = export(&env, &["--format", format]).stdout();
        assert!(out.contains("oracle"), "{format}: {out}");
        assert!(!out.contains("Tr0ub4dor"), "{format}: a password: {out}");
        assert!(!out.contains("root"), "{format}: a local account: {out}");
    }
    let v: Value = serde_json::from_str(&export(&env, &["--format", "json"]).stdout()).unwrap();
    let row = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ip"] == "203.0.113.7")
        .unwrap();
    assert_eq!(row["users"], serde_json::json!(["oracle"]));
    assert_eq!(row["users_more"], 2, "the withheld names are counted");
    // The posts' own opt-in: local accounts, never passwords.
    let out = export(&env, &["--format", "csv", "--show-local-users"]).stdout();
    assert!(out.contains("root") && !out.contains("Tr0ub4dor"), "{out}");
    // And the same in the options file.
    env.write("opts.toml", "show-local-users = true\n");
    let out = export(&env, &["--format", "json", "--config", "opts.toml"]).stdout();
    assert!(out.contains("\"root\""), "{out}");
}

#[test]
fn the_blocklist_leaves_out_loopback_own_ignored_and_few_tries() {
    let mut env = private_env();
    // This host's own addresses, as the tool is told them whatever the host has.
    env.own_addresses = "198.51.100.44,2001:db8:44::1".into();
    let env = env;
    let list = |args: &[&str]| {
        let mut a = vec!["--format", "blocklist"];
        a.extend_from_slice(args);
        export(&env, &a).stdout()
    };
    assert_eq!(list(&["--ignore", "192.0.2.0/24"]), "203.0.113.7\n");
    assert_eq!(
        list(&["--ignore", "192.0.2.0/24", "--min-tries", "2"]),
        "203.0.113.7\n198.51.100.3\n"
    );
    // The options file's ignore list and threshold apply too.
    env.write("opts.toml", "ignore = [\"192.0.2.50\"]\nthreshold = 1\n");
    assert_eq!(
        list(&["--config", "opts.toml"]),
        "203.0.113.7\n198.51.100.3\n"
    );
    assert_eq!(list(&[]), "192.0.2.50\n203.0.113.7\n", "9 tries each");

    // This host's own addresses: recorded (the table is the log's), never
    // listed; the IPv6 one is counted as its /64, which it hides.
    env.append(
        "auth.log",
        &guesses_as("198.51.100.44", "admin", 9, 700, "Nov 26"),
    );
    env.append(
        "auth.log",
        &guesses_as("2001:db8:44::1", "admin", 9, 800, "Nov 26"),
    );
    env.run(&[]).ok();
    assert_eq!(env.tries("198.51.100.44"), 9);
    assert_eq!(env.tries("2001:db8:44::"), 9);
    assert_eq!(list(&[]), "192.0.2.50\n203.0.113.7\n", "both are ours");
}

#[test]
fn atom_feed_is_valid_rfc_4287() {
    let Some(xmllint) = tool("xmllint") else {
        return;
    };
    let env = private_env();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    // With the URL it is served at, and without (an id derived from the host).
    for url in [
        &["--feed-url", "https://example.org/attackers.atom"][..],
        &[],
    ] {
        let mut args = vec!["--format", "atom", "--out", "feed.xml"];
        args.extend(url);
        export(&env, &args);
        let feed = fs::read_to_string(env.path("feed.xml")).unwrap();
        assert_eq!(feed.matches("<entry>").count(), 1, "{feed}");
        for (schema, flag) in [("atom.rng", "--relaxng"), ("atom.sch", "--schematron")] {
            let out = Command::new(&xmllint)
                .args(["--noout", flag, &format!("{fixtures}/{schema}")])
                .arg(env.path("feed.xml"))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{schema}: {}\n{feed}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    export(
        &env,
        &[
            "--format",
            "atom",
            "--out",
            "feed.xml",
            "--feed-url",
            "https://example.org/attackers.atom",
        ],
    );
    let feed = fs::read_to_string(env.path("feed.xml")).unwrap();
    assert!(
        feed.contains("<id>https://example.org/attackers.atom</id>"),
        "{feed}"
    );
    assert!(feed.contains("<author><name>tweet-attacks on "), "{feed}");
    assert!(feed.contains("rel=\"self\""), "{feed}");
}

/// The text of the feed's `tag` in the entry of `source`.
fn entry_part(feed: &str, source: &str, tag: &str) -> String {
    let entry = &feed[feed.find(&format!("{source}</title>")).unwrap()..];
    let entry = &entry[..entry.find("</entry>").unwrap()];
    let open = entry.find(&format!("<{tag}")).unwrap();
    let start = open + entry[open..].find('>').unwrap() + 1;
    entry[start..entry.find(&format!("</{tag}>")).unwrap()].to_string()
}

#[test]
fn an_atom_entry_carries_the_text_as_posted_and_its_summary_the_totals() {
    let mut env = private_env();
    let posted = export(&env, &["--format", "atom"]).stdout();
    let said = entry_part(&posted, "203.0.113.7", "content");
    assert!(said.contains(": 9 tries in 6 s ("), "{posted}");
    // Three more tries after the post, read an hour later: the post stays
    // as it was, the summary says the totals, and the entry is updated.
    env.now = "2026-11-26T13:00:00Z".into();
    let later: String = (0..3)
        .map(|i| format!("Nov 26 12:30:0{i} web01 sshd[{}]: Failed password for oracle from 203.0.113.7 port 22 ssh2\n", 900 + i))
        .collect();
    env.append("auth.log", &later);
    env.run(&["--passwd", "passwd", "--ignore", "192.0.2.0/24"])
        .ok();
    assert_eq!(env.tries("203.0.113.7"), 12);
    let later = export(&env, &["--format", "atom"]).stdout();
    assert_eq!(
        entry_part(&later, "203.0.113.7", "content"),
        said,
        "{later}"
    );
    let summary = entry_part(&later, "203.0.113.7", "summary");
    assert!(
        summary.starts_with("203.0.113.7: 12 tries against sshd"),
        "{summary}"
    );
    assert!(summary.contains(" and 2026-11-26T12:30:02Z."), "{summary}");
    assert_ne!(
        entry_part(&later, "203.0.113.7", "updated"),
        entry_part(&posted, "203.0.113.7", "updated")
    );
}

/// A program the test needs, or `None` (see `skip`) where it is not
/// installed. CI installs it (.ci/run).
fn tool(name: &str) -> Option<String> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        skip(&format!("{name} is not installed"));
    }
    found.map(|p| p.display().to_string())
}

#[test]
fn a_healthy_run_is_silent_and_a_lasting_condition_is_said_once() {
    let env = Env::new();
    env.write("auth.log", &guesses("203.0.113.5", 7, 100));
    let out = env.run(&[]).ok();
    assert_eq!(out.stderr(), "", "announcing is not a warning");
    // Not configured yet (the package's first runs): said once, then idle in silence.
    let idle = || output(env.run_on_files(&["--if-configured"])).ok().stderr();
    let first = idle();
    assert!(
        first.contains("not configured yet") && first.contains(": twitter-consumer-key, "),
        "{first}"
    );
    assert_eq!(first.lines().count(), 1, "{first}");
    assert_eq!(idle(), "", "said once");
    assert!(env.state()["notes"]["unconfigured"].is_i64());
    // Without the gate, the same is an error.
    let err = output(env.run_on_files(&[])).one_error_line();
    assert!(err.contains(": twitter-consumer-key, "), "{err}");
    // Any sink counts, not only X: a configured one runs, and re-arms the note.
    let out = env.run(&["--if-configured"]).ok();
    assert_eq!(out.stderr(), "");
    assert!(env.state()["notes"].get("unconfigured").is_none());
}

#[test]
fn a_state_folder_that_does_not_exist_is_an_error_not_created() {
    let env = Env::new();
    env.write("auth.log", &guesses("203.0.113.5", 2, 100));
    let out = env.run_with_state("nowhere/state.json");
    let err = out.one_error_line();
    assert!(
        err.contains("state folder nowhere does not exist") && err.contains("install -d -m 700"),
        "{err}"
    );
    assert!(!env.path("nowhere").exists());
}

#[test]
fn permission_denied_on_the_state_is_not_no_state_file() {
    if !nix_is_root() {
        return skip("needs root to run as another user");
    }
    let env = private_env();
    // As with /var/lib/tweet-attacks (0700), `nobody` cannot even look into
    // the folder: the state's stat fails with EACCES, not ENOENT.
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(env.dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
    for view in ["show", "status", "export"] {
        let mut args = vec![view, "--state", "state.json"];
        if view == "export" {
            args.extend(["--format", "csv"]);
        }
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_tweet-attacks"))
            .args(&args)
            .current_dir(env.dir.path())
            .env(
                "TWEET_ATTACKS_DEFAULT_CONFIG",
                env.path("default-options.toml"),
            )
            .env_remove("TWEET_ATTACKS_CONFIG")
            .stdin(Stdio::null());
        let out = output(c);
        let err = out.one_error_line();
        assert!(
            err.contains("cannot read state file") && err.contains("Permission denied"),
            "{view}: {err}"
        );
    }
    let err = output(env.cmd(&["show", "--state", "absent.json"])).one_error_line();
    assert!(err.contains("no state file at absent.json"), "{err}");
}

fn nix_is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .map(|s| s.lines().any(|l| l.starts_with("Uid:\t0\t")))
        .unwrap_or(false)
}

#[test]
fn negative_counts_are_refused_without_clap_s_dash_dash_tip() {
    let env = Env::new();
    for args in [
        &["run", "--threshold", "-1"][..],
        &["replay", "--threshold", "-1"],
        &["show", "--min-tries", "-3"],
    ] {
        let out = output(env.cmd(args));
        assert_eq!(out.code(), Some(2), "a usage error: {}", out.stderr());
        let err = out.stderr();
        assert!(err.contains("is not a whole number of 0 or more"), "{err}");
        assert!(!err.contains("-- -1") && !err.contains("tip:"), "{err}");
    }
}

#[test]
fn gzip_on_stdin_is_read_and_another_program_s_log_is_said() {
    use flate2::{Compression, write::GzEncoder};
    let env = Env::new();
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(guesses("203.0.113.9", 7, 100).as_bytes())
        .unwrap();
    let gz = gz.finish().unwrap();
    for sub in ["replay", "parse"] {
        let mut child = env
            .cmd(&[sub, "--json"][..if sub == "replay" { 2 } else { 1 }])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&gz).unwrap();
        let out = Out(child.wait_with_output().unwrap()).ok();
        let lines = out.json_lines();
        match sub {
            "replay" => assert_eq!(lines[0]["tries"], 7, "{}", out.stdout()),
            _ => assert_eq!(lines.len(), 7),
        }
        assert!(
            out.stderr()
                .starts_with("tweet-attacks: 7 lines read, 7 recognised, 1 attackers, 7 tries"),
            "{sub}: the summary counts the decompressed lines: {}",
            out.stderr()
        );
        assert!(!out.stderr().contains("warning"), "{}", out.stderr());
    }
    env.write(
        "nginx.log",
        "203.0.113.9 - - [26/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 612\n\
         203.0.113.9 - - [26/Nov/2026:10:00:01 +0000] \"GET /wp-login.php HTTP/1.1\" 404 0\n",
    );
    for sub in ["replay", "parse"] {
        let out = output(env.cmd(&[sub, "nginx.log"])).ok();
        assert_eq!(out.stdout(), "");
        assert!(
            out.stderr()
                .contains("nginx.log: none of its 2 line(s) is a failed login"),
            "{sub}: {}",
            out.stderr()
        );
    }
}

#[test]
fn a_first_run_announces_only_the_last_day_s_attackers() {
    let env = Env::new();
    let mut log = guesses_as("198.51.100.20", "admin", 9, 100, "Nov 20");
    log += &guesses_as("203.0.113.21", "admin", 7, 200, "Nov 26");
    env.write("auth.log", &log);
    let out = env.run(&["--json"]).ok();
    let posts = out.json_lines();
    assert_eq!(posts.len(), 1, "{}", out.stdout());
    assert_eq!(posts[0]["ip"], "203.0.113.21");
    assert_eq!(env.tries("198.51.100.20"), 9, "still counted");
    assert!(env.field("198.51.100.20", "a").is_null());
    // Untouched by the next run: still not news.
    env.append(
        "auth.log",
        &guesses_as("203.0.113.22", "admin", 1, 300, "Nov 26"),
    );
    assert_eq!(env.run(&["--json"]).ok().stdout(), "");
    // It comes back: now it is announced, with all its tries.
    env.append(
        "auth.log",
        &guesses_as("198.51.100.20", "admin", 1, 400, "Nov 26"),
    );
    let posts = env.run(&["--json"]).ok().json_lines();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        (&posts[0]["ip"], &posts[0]["tries"]),
        (&"198.51.100.20".into(), &10.into())
    );
}

#[test]
fn show_filters_by_time_tries_and_address() {
    let env = Env::new();
    let mut log = guesses("203.0.113.30", 3, 100);
    log += &guesses("203.0.113.31", 8, 200);
    log += &guesses_as("2001:db8::5", "admin", 4, 300, "Nov 26").replace("10:", "11:");
    env.write("auth.log", &log);
    env.run(&[]).ok();
    let ips = |args: &[&str]| -> Vec<String> {
        let mut c = env.cmd(&["show", "--state", "state.json", "--json"]);
        c.args(args);
        output(c)
            .ok()
            .json_lines()
            .iter()
            .map(|r| r["ip"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ips(&[]).len(), 3);
    // IPv6 is counted per /64.
    assert_eq!(ips(&["--min-tries", "4"]), ["203.0.113.31", "2001:db8::"]);
    assert_eq!(ips(&["--since", "1h"]), ["2001:db8::"], "now is 12:00");
    assert_eq!(ips(&["2001:db8::5"]), ["2001:db8::"], "the address's /64");
    assert_eq!(ips(&["203.0.113.30"]), ["203.0.113.30"]);
    assert_eq!(ips(&["::ffff:203.0.113.30"]), ["203.0.113.30"]);
    assert_eq!(
        ips(&["203.0.113.30", "--min-tries", "4"]),
        Vec::<String>::new()
    );
}

#[test]
fn status_shows_the_last_run_logs_outbox_and_budget() {
    let env = Env::new();
    env.write("auth.log", &guesses("203.0.113.40", 7, 100));
    env.run(&[]).ok();
    env.write("opts.toml", "sink = [\"twitter\"]\nmax-posts-per-day = 4\n");
    // An X run that cannot post leaves the announcement in the outbox.
    let x = fake_x::FakeX::start(vec![fake_x::Reply::status(503)]);
    env.append("auth.log", &guesses("203.0.113.41", 7, 200));
    let mut c = env.run_on_files(&["--config", "opts.toml", "--twitter-api-url", x.url()]);
    c.envs(fake_x::KEYS.env());
    output(c).fails();
    assert_eq!(x.requests().len(), 1, "it tried");
    let json = output(env.cmd(&[
        "status",
        "--state",
        "state.json",
        "--config",
        "opts.toml",
        "--json",
    ]))
    .ok();
    let s: Value = serde_json::from_str(&json.stdout()).unwrap();
    assert_eq!(s["last_run"]["started"], NOW);
    assert!(
        s["last_run"]["error"].as_str().unwrap().contains("twitter"),
        "{s}"
    );
    assert_eq!(s["attackers"], 2);
    let log = s["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["path"] == "auth.log")
        .unwrap();
    let size = fs::metadata(env.path("auth.log")).unwrap().len();
    assert_eq!((&log["offset"], &log["size"]), (&size.into(), &size.into()));
    assert_eq!(log["file"], "same file");
    let x = s["sinks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["sink"] == "twitter")
        .unwrap();
    assert_eq!(x["waiting"], 1);
    assert_eq!(
        (&x["per_day"], &x["left_today"], &x["next_run"]),
        (&4.into(), &4.into(), &1.into()),
        "a run spends a quarter of the day's 4"
    );
    // The screen says the same in words, and that the log then moved on.
    fs::rename(env.path("auth.log"), env.path("auth.log.1")).unwrap();
    env.write("auth.log", "");
    let text = output(env.cmd(&["status", "--state", "state.json", "--config", "opts.toml"]))
        .ok()
        .stdout();
    assert!(
        text.contains(&format!("last run   {NOW}, ended ")),
        "{text}"
    );
    assert!(text.contains("twitter    1 waiting"), "{text}");
    assert!(
        text.contains("0 of 4 posted in 24 h, 4 left today, at most 1 next run"),
        "{text}"
    );
    assert!(text.contains("rotated"), "{text}");
    // After a run, the rotated file is still read for its writer's late lines.
    env.run(&[]).ok();
    let text = output(env.cmd(&["status", "--state", "state.json"]))
        .ok()
        .stdout();
    assert!(
        text.contains("also watching ./auth.log.1 from byte"),
        "{text}"
    );
    assert!(
        !text.contains("/var/log"),
        "without --config, only the logs read: {text}"
    );
}

#[test]
fn bash_completes_subcommand_flags_but_not_hidden_ones() {
    let Some(bash) = tool("bash") else { return };
    let env = Env::new();
    let script = output(env.cmd(&["completions", "bash"])).ok().stdout();
    env.write("complete.bash", &script);
    let complete = |words: &str| -> Vec<String> {
        let prog = format!(
            "source ./complete.bash\n\
             COMP_WORDS=({words}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n\
             _tweet__attacks tweet-attacks \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\""
        );
        let out = Command::new(&bash)
            .args(["--norc", "--noprofile", "-c", &prog])
            .current_dir(env.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(complete("tweet-attacks run --si"), ["--since", "--sink"]);
    assert_eq!(complete("tweet-attacks st"), ["status"]);
    assert_eq!(
        complete("tweet-attacks verify-credentials --con"),
        ["--config"]
    );
    let all = complete("tweet-attacks run --");
    assert!(all.contains(&"--dry-run".to_string()), "{all:?}");
    assert!(
        !all.iter().any(|w| w == "--now" || w == "--lock-wait"),
        "{all:?}"
    );
}

#[test]
fn the_man_page_covers_every_subcommand_and_renders_cleanly() {
    let env = Env::new();
    let page = output(env.cmd(&["man"])).ok().stdout();
    for sub in [
        "run",
        "replay",
        "parse",
        "show",
        "status",
        "verify-credentials",
        "export",
        "completions",
        "man",
        "outbox",
        "outbox retry",
        "outbox drop",
    ] {
        let sub = sub.replace('-', "\\-");
        assert!(
            page.contains(&format!(".SS \"tweet\\-attacks {sub}\"")),
            "{sub}"
        );
    }
    let Some(groff) = tool("groff") else { return };
    env.write("page.1", &page);
    let out = Command::new(groff)
        .args(["-man", "-Tutf8", "-ww", "-z", "page.1"])
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "groff warnings");
}

/// `run` on auth.log alone: the vsftpd log is the default one (or the options file's).
fn run_auth_only(env: &Env, extra: &[&str]) -> Out {
    let mut c = env.cmd(&[
        "run",
        "--sink",
        "stdout",
        "--state",
        "state.json",
        "--auth-log",
        "auth.log",
    ]);
    c.args(extra);
    output(c)
}

#[test]
fn a_missing_log_named_explicitly_is_an_error_and_saves_nothing() {
    let env = Env::new();
    let err = env.run(&[]).one_error_line();
    assert!(err.contains("log file auth.log does not exist"), "{err}");
    assert!(!env.path("state.json").exists(), "no state saved");
    // The same name in the options file is just as explicit.
    env.write("auth.log", "");
    env.write("opts.toml", "vsftpd-log = \"vsftpd.lgo\"\n");
    let err = run_auth_only(&env, &["--config", "opts.toml"]).one_error_line();
    assert!(err.contains("vsftpd.lgo does not exist"), "{err}");
    assert!(!env.path("state.json").exists());
}

#[test]
fn an_explicit_log_renamed_by_logrotate_and_not_yet_created_is_mid_rotation() {
    let env = Env::new();
    env.write("auth.log", &guesses("203.0.113.6", 2, 100));
    env.run(&[]).ok();
    // logrotate with `nocreate`: renamed, and the daemon still writes to
    // the renamed file until it is signalled to open a new one.
    fs::rename(env.path("auth.log"), env.path("auth.log.1")).unwrap();
    env.append("auth.log.1", &guesses("203.0.113.6", 2, 200));
    assert!(
        !env.path("auth.log").exists(),
        "the rotation came between runs"
    );
    let out = env.run(&[]).ok();
    assert_eq!(out.stderr(), "", "routine, so silent");
    env.write("auth.log", &guesses("203.0.113.6", 3, 300));
    env.run(&[]).ok();
    assert_eq!(env.tries("203.0.113.6"), 7, "nothing lost, nothing twice");
}

#[test]
fn a_missing_default_vsftpd_log_is_normal_and_silent() {
    // `Env` moves the default into its temp dir, where there is none.
    let env = Env::new();
    env.write("auth.log", &guesses("203.0.113.5", 2, 100));
    for _ in 0..2 {
        assert_eq!(run_auth_only(&env, &[]).ok().stderr(), "");
    }
    assert_eq!(env.tries("203.0.113.5"), 2);
}

/// The command of cron.d/tweet-attacks's job line, with `/usr/bin/tweet-attacks`
/// replaced by `bin` and systemd's `/run/systemd/system` (there while systemd
/// runs) by `path`'s `systemd`, run by sh with `PATH` = `path` (where a fake
/// `systemctl` may be).
fn cron_job(bin: &std::path::Path, path: &std::path::Path) -> std::process::Output {
    let file =
        fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/cron.d/tweet-attacks")).unwrap();
    let line = file
        .lines()
        .find(|l| l.starts_with("*/15 "))
        .expect("a job line");
    // Five time fields, the user, then the command.
    let command = line.splitn(7, ' ').nth(6).unwrap();
    assert_eq!(line.split(' ').nth(5), Some("root"));
    let command = command
        .replace("/usr/bin/tweet-attacks", &bin.display().to_string())
        .replace(
            "/run/systemd/system",
            &path.join("systemd").display().to_string(),
        );
    Command::new("/bin/sh")
        .args(["-c", &command])
        .env_clear()
        .env("PATH", path)
        .output()
        .unwrap()
}

#[test]
fn the_cron_line_is_quiet_without_the_binary_and_stands_aside_for_the_timer() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let bin = env.path("tweet-attacks");
    let path = env.path("bin");
    fs::create_dir(&path).unwrap();
    // The package removed, its conffile kept: nothing runs, nothing is said
    // (cron mails output, not exit statuses).
    let out = cron_job(&bin, &path);
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    // A stand-in for the binary, which leaves a mark when cron runs it.
    let script = |p: &std::path::Path, body: &str| {
        fs::write(p, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
    };
    let mark = env.path("ran");
    script(&bin, &format!("echo \"$@\" > {}", mark.display()));
    // No systemctl at all (a container): cron runs the job.
    cron_job(&bin, &path);
    assert_eq!(
        fs::read_to_string(&mark).unwrap().trim(),
        "run --config /etc/tweet-attacks.toml --if-configured"
    );
    fs::remove_file(&mark).unwrap();
    // The timer enabled: cron stands aside while systemd runs.
    script(
        &path.join("systemctl"),
        "[ \"$*\" = \"-q is-enabled tweet-attacks.timer\" ]",
    );
    fs::create_dir(path.join("systemd")).unwrap();
    let out = cron_job(&bin, &path);
    assert!(!mark.exists(), "the timer runs it, not cron");
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    // Enabled where systemd is not running (a chroot, a container, another
    // init: the package enables it on every install), the timer never
    // fires: cron runs the job.
    fs::remove_dir(path.join("systemd")).unwrap();
    cron_job(&bin, &path);
    assert!(mark.exists(), "no systemd, so cron runs it");
    fs::remove_file(&mark).unwrap();
    fs::create_dir(path.join("systemd")).unwrap();
    // Disabled: cron runs it again.
    script(&path.join("systemctl"), "exit 1");
    cron_job(&bin, &path);
    assert!(mark.exists());
}

#[test]
fn the_unit_the_cron_line_the_package_and_the_reference_agree_on_the_binary() {
    let read = |p: &str| fs::read_to_string(format!("{}/{p}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let bin = "/usr/bin/tweet-attacks";
    assert!(
        read("Cargo.toml").contains("[\"target/release/tweet-attacks\", \"usr/bin/\", \"755\"]"),
        "the package installs {bin}"
    );
    let unit = read("systemd/tweet-attacks.service");
    assert!(unit.contains(&format!("ExecStart={bin} run ")));
    let cron = read("cron.d/tweet-attacks");
    // The timer runs exactly what the cron line runs, --if-configured included.
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    assert!(cron.contains(&format!("&& {exec}\n")), "{exec}");
    assert!(
        cron.contains(&format!("test -x {bin} && ")) && cron.contains(&format!("&& {bin} run "))
    );
    // Installed by hand in /usr/local/bin (doc/REFERENCE.md, which the
    // README links), both files are rewritten to say so.
    let reference = read("doc/REFERENCE.md");
    assert!(read("README.md").contains("(doc/REFERENCE.md#installing-by-hand)"));
    assert!(reference.contains("\n### Installing by hand\n"));
    for file in ["cron.d/tweet-attacks", "systemd/tweet-attacks.service"] {
        assert!(
            reference.contains(&format!(
                "sed 's|{bin}|/usr/local/bin/tweet-attacks|g' {file}"
            )),
            "{file}"
        );
    }
    assert!(reference.contains("install -m 755 target/release/tweet-attacks /usr/local/bin/"));
}

/// A Markdown file's text outside its fenced code blocks, and its headings'
/// anchors as GitHub makes them (lower case, punctuation dropped, spaces
/// become dashes).
fn markdown(path: &std::path::Path) -> (String, Vec<String>) {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (mut prose, mut anchors, mut fenced) = (String::new(), Vec::new(), false);
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            if let Some(title) = line.strip_prefix('#').map(|t| t.trim_start_matches('#')) {
                let slug: String = title
                    .trim()
                    .to_lowercase()
                    .chars()
                    .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
                    .map(|c| if c == ' ' { '-' } else { c })
                    .collect();
                anchors.push(slug);
            }
            prose.push_str(line);
            prose.push('\n');
        }
    }
    (prose, anchors)
}

#[test]
fn every_link_in_the_readme_and_the_reference_reaches_its_file_and_heading() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let link = regex::Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let mut checked = 0;
    for doc in [
        "README.md",
        "doc/REFERENCE.md",
        "ARCHITECTURE.md",
        "tests/real/README.md",
    ] {
        let path = root.join(doc);
        let (prose, _) = markdown(&path);
        for target in link.captures_iter(&prose).map(|c| c[1].to_string()) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let dest = match file {
                "" => path.clone(),
                _ => path.parent().unwrap().join(file),
            };
            assert!(dest.exists(), "{doc}: {target}: no such file");
            if !anchor.is_empty() {
                assert!(
                    markdown(&dest).1.iter().any(|a| a == anchor),
                    "{doc}: {target}: no such heading"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 30, "{checked} links");
}

#[test]
fn the_readme_is_short_and_its_two_commands_are_the_ones_ci_runs() {
    let read = |p: &str| fs::read_to_string(format!("{}/{p}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let (readme, ci) = (read("README.md"), read(".ci/run"));
    assert!(
        readme.lines().count() <= 160,
        "{} lines",
        readme.lines().count()
    );
    for command in [
        "cargo run --release -- replay examples/auth.log examples/vsftpd.log",
        "cargo test",
    ] {
        assert!(
            readme
                .lines()
                .any(|l| l.starts_with(&format!("{command} "))),
            "{command}"
        );
        assert!(ci.lines().any(|l| l == command), "{command}");
    }
    // The install command, with root, and the link to everything else.
    assert!(readme.contains("sudo apt install ./target/debian/tweet-attacks_*.deb"));
    assert!(readme.contains("](doc/REFERENCE.md)"));
}

#[test]
fn an_idle_run_adds_a_few_bytes_whatever_is_open_and_status_tells_it() {
    let mut env = Env::new();
    // A burst's connections, one line each from its own pid, all left open.
    let burst: String = (0..2000)
        .map(|i| {
            format!(
                "Nov 26 11:59:00 web01 sshd[{}]: Failed password for root from 10.0.{}.{} port 22 ssh2\n",
                1000 + i,
                i / 256,
                i % 256
            )
        })
        .collect();
    env.write("auth.log", &burst);
    env.run(&[]).ok();
    let state = env.path("state.json");
    let size = || fs::metadata(&state).unwrap().len();
    let before = size();
    assert!(before > 2000 * 60, "the head holds the connections");
    for minute in 1..=10 {
        env.now = format!("2026-11-26T12:{minute:02}:00Z");
        env.run(&[]).ok();
    }
    let grown = size() - before;
    assert!(grown < 10 * 200, "{grown} bytes for 10 idle runs");
    let text = output(env.cmd(&["status", "--state", "state.json"]))
        .ok()
        .stdout();
    assert!(
        text.contains("last run   2026-11-26T12:10:00Z, ended "),
        "{text}"
    );
    assert!(text.contains("attackers  2000"), "{text}");
    // The log goes on (a CRON line six minutes later): the connections
    // close, and the head that says so is small.
    env.append(
        "auth.log",
        "Nov 26 12:05:01 web01 CRON[7]: pam_unix(cron:session): session opened for user root\n",
    );
    let before = size();
    env.run(&[]).ok();
    let s = env.state();
    let open = s["table"]["conns"].as_array().unwrap().len();
    assert_eq!(open, 0, "all closed");
    assert!(size() < before + 2000, "{} bytes added", size() - before);
}

/// `run` with opts.toml, posting to an X that cannot be reached: what is
/// due waits in the outbox.
fn run_to_unreachable_x(env: &Env) -> Out {
    let mut c = env.run_on_files(&[
        "--config",
        "opts.toml",
        "--twitter-api-url",
        "http://127.0.0.1:9",
    ]);
    c.envs(fake_x::KEYS.env());
    output(c).fails()
}

#[test]
fn an_attacker_waiting_in_the_outbox_outlives_the_retention_and_no_other_does() {
    let mut env = Env::new();
    env.write("auth.log", &guesses("203.0.113.40", 7, 100));
    env.append("auth.log", &guesses("203.0.113.41", 2, 200));
    env.write("opts.toml", "sink = [\"twitter\"]\n");
    // X cannot be reached: the due one waits in the outbox, run after run.
    let x_run = |env: &Env| {
        run_to_unreachable_x(env);
    };
    x_run(&env);
    // Forty days on, past the 30-day retention.
    env.now = "2027-01-05T12:00:00Z".to_string();
    x_run(&env);
    let out = output(env.cmd(&["show", "--state", "state.json", "--json"])).ok();
    let ips: Vec<String> = out
        .json_lines()
        .iter()
        .map(|r| r["ip"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ips, ["203.0.113.40"], "the other one is forgotten");
    let waiting = &env.state()["outbox"];
    assert_eq!(waiting[0]["ip"], "203.0.113.40", "{waiting}");
}

#[test]
fn ignore_means_the_same_in_run_show_status_export_and_outbox() {
    let env = Env::new();
    env.write("auth.log", &guesses("203.0.113.40", 7, 100));
    env.append("auth.log", &guesses("192.0.2.50", 8, 200));
    env.write("opts.toml", "sink = [\"twitter\"]\n");
    // X cannot be reached: both wait in the outbox.
    let x_run = || run_to_unreachable_x(&env);
    x_run();
    assert_eq!(env.state()["outbox"].as_array().unwrap().len(), 2);
    // Then the options file ignores one of them.
    env.write(
        "opts.toml",
        "sink = [\"twitter\"]\nignore = [\"192.0.2.0/24\"]\n",
    );
    let view = |args: &[&str]| {
        let mut c = env.cmd(args);
        c.args(["--state", "state.json", "--config", "opts.toml"]);
        output(c).ok().stdout()
    };
    // show: still there, marked; its queued announcement not listed.
    let show = view(&["show"]);
    let row = show.lines().find(|l| l.starts_with("192.0.2.50")).unwrap();
    assert!(row.contains(" ignored "), "{show}");
    assert!(show.contains("twitter          1"), "{show}");
    let marks: Vec<(String, bool)> = Out(env
        .cmd(&[
            "show",
            "--json",
            "--state",
            "state.json",
            "--config",
            "opts.toml",
        ])
        .output()
        .unwrap())
    .json_lines()
    .iter()
    .map(|r| (r["ip"].as_str().unwrap().into(), r["ignored"] == true))
    .collect();
    assert_eq!(
        marks,
        [("192.0.2.50".into(), true), ("203.0.113.40".into(), false)]
    );
    // export: out of the blocklist, marked in CSV.
    assert_eq!(
        view(&["export", "--format", "blocklist", "--min-tries", "1"]),
        "203.0.113.40\n"
    );
    let csv = view(&["export", "--format", "csv"]);
    assert!(csv.contains("\n192.0.2.50,8,sshd,"), "{csv}");
    assert!(
        csv.lines()
            .any(|l| l.starts_with("192.0.2.50") && l.ends_with(",false,true,,,"))
    );
    // status: counted apart, and not waiting.
    let status = view(&["status"]);
    assert!(
        status.contains("attackers  2 (1 ignored: counted, never announced)\n"),
        "{status}"
    );
    assert!(status.contains("twitter    1 waiting"), "{status}");
    assert!(
        status.contains("1 queued for ignored or internal addresses: the next run drops them"),
        "{status}"
    );
    // outbox: the same.
    let outbox = view(&["outbox"]);
    assert!(outbox.contains("twitter          1"), "{outbox}");
    assert!(outbox.contains("the next run drops them"), "{outbox}");
    // And the run does drop it.
    let out = x_run();
    assert!(
        out.stderr()
            .contains("dropped 1 queued announcement(s) of ignored addresses"),
        "{}",
        out.stderr()
    );
    let queued = env.state()["outbox"].to_string();
    assert!(
        !queued.contains("192.0.2.50") && queued.contains("203.0.113.40"),
        "{queued}"
    );
}
