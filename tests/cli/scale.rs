//! Counting that holds at scale and against hostile input: connections
//! closed by the log's clock, IPv6 networks counted as one, a bounded table.

use super::*;

/// One sshd connection: three guesses (F = 3, P = 1 + 2), as the table's
/// unit tests know it.
static CONN: std::sync::LazyLock<Vec<&str>> = std::sync::LazyLock::new(|| {
    include_str!("../fixtures/one-connection.log")
        .lines()
        .collect()
});

fn lines(ls: &[&str]) -> String {
    ls.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn a_connection_split_across_runs_is_closed_by_the_log_not_the_clock() {
    let mut env = Env::new();
    // The wall clock is a day ahead of the log.
    env.now = "2026-11-27T00:30:00Z".into();
    env.write("auth.log", &lines(&CONN[..4]));
    env.run(&[]).ok();
    assert_eq!(env.tries("203.0.113.5"), 2);
    // A run that reads nothing, later still.
    env.now = "2026-11-27T06:00:00Z".into();
    env.run(&[]).ok();
    env.append("auth.log", &lines(&CONN[4..]));
    env.run(&[]).ok();
    assert_eq!(env.tries("203.0.113.5"), 3, "one connection, three guesses");
}

/// One guess from each of `n` addresses of 2001:db8:1:2::/64, as a bot
/// that takes a new address per connection.
fn rotating(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "Nov 26 10:00:{:02} web01 sshd[{}]: Failed password for root from 2001:db8:1:2:{:x}::1 port 22 ssh2\n",
                i % 60,
                100 + i,
                i + 1
            )
        })
        .collect()
}

#[test]
fn ipv6_is_counted_and_posted_per_64_unless_asked_otherwise() {
    let env = Env::new();
    env.write("auth.log", &rotating(8));
    let out = env.run(&["--json"]).ok();
    let posts = out.json_lines();
    assert_eq!(posts.len(), 1, "{}", out.stdout());
    assert_eq!(posts[0]["ip"], "2001:db8:1:2::");
    assert_eq!(posts[0]["prefix"], 64);
    assert_eq!(posts[0]["seen"], "2001:db8:1:2:1::1");
    let text = posts[0]["text"].as_str().unwrap();
    assert!(
        text.contains("from 2001:db8:1:2::/64 (first seen 2001:db8:1:2:1::1): 8 tries"),
        "a search for the address in the log finds the post: {text}"
    );
    assert_eq!(env.tries("2001:db8:1:2::"), 8);
    let out = Out(env
        .cmd(&["export", "--state", "state.json", "--format", "blocklist"])
        .output()
        .unwrap())
    .ok();
    assert_eq!(
        out.stdout(),
        "2001:db8:1:2::/64\n",
        "a firewall blocks the /64"
    );

    let env = Env::new();
    env.write("auth.log", &rotating(8));
    let out = env.run(&["--json", "--ipv6-prefix", "128"]).ok();
    assert_eq!(out.stdout(), "", "eight addresses of one try each");
    assert_eq!(env.tries("2001:db8:1:2:8::1"), 1);
    env.run(&["--ipv6-prefix", "129"]).fails();

    // replay counts the same way.
    let env = Env::new();
    env.write("auth.log", &rotating(8));
    let out = Out(env.cmd(&["replay", "auth.log"]).output().unwrap()).ok();
    assert!(
        out.stdout().contains("2001:db8:1:2::/64"),
        "{}",
        out.stdout()
    );
}

#[test]
fn a_network_reads_as_one_in_show_and_csv_and_show_finds_it_by_cidr_or_address() {
    let env = Env::new();
    env.write("auth.log", &rotating(8));
    env.run(&[]).ok();
    let show = |args: &[&str]| {
        let mut all = vec!["show", "--state", "state.json"];
        all.extend(args);
        Out(env.cmd(&all).output().unwrap())
    };
    let table = show(&[]).ok();
    assert!(
        table
            .stdout()
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("2001:db8:1:2::/64 "),
        "{}",
        table.stdout()
    );
    // As copied from a post, as the network's own address, or any address inside it.
    for want in [
        "2001:db8:1:2::/64",
        "2001:db8:1:2::",
        "2001:db8:1:2:1::1",
        "2001:db8::/32",
    ] {
        let out = show(&[want]).ok();
        assert_eq!(out.stdout().lines().count(), 2, "{want}: {}", out.stdout());
    }
    for other in ["2001:db8:1:3::/64", "2001:db8:1:3::1", "203.0.113.5/24"] {
        let out = show(&[other]).ok();
        assert_eq!(out.stdout().lines().count(), 1, "{other}: {}", out.stdout());
    }
    assert_eq!(show(&["2001:db8::/129"]).fails().code(), Some(2));
    // JSON keeps the address as it is.
    let rows = show(&["--json"]).ok().json_lines();
    assert_eq!(rows[0]["ip"], "2001:db8:1:2::");
    assert_eq!(rows[0]["prefix"], 64, "as run --json says");
    assert_eq!(rows[0]["seen"], "2001:db8:1:2:1::1");
    let rows = Out(env
        .cmd(&["export", "--state", "state.json", "--format", "json"])
        .output()
        .unwrap())
    .ok();
    let rows: Value = serde_json::from_str(&rows.stdout()).unwrap();
    assert_eq!(rows[0]["ip"], "2001:db8:1:2::");
    assert_eq!(rows[0]["prefix"], 64);
    assert_eq!(rows[0]["seen"], "2001:db8:1:2:1::1");
    let csv = Out(env
        .cmd(&["export", "--state", "state.json", "--format", "csv"])
        .output()
        .unwrap())
    .ok();
    assert!(
        csv.stdout()
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("2001:db8:1:2::/64,"),
        "{}",
        csv.stdout()
    );
}

#[test]
fn the_table_is_bounded_least_recent_first_with_one_warning() {
    let env = Env::new();
    env.write("vsftpd.log", "");
    env.write("auth.log", &guesses("203.0.113.5", 2, 100));
    env.append(
        "auth.log",
        &guesses("198.51.100.7", 2, 200).replace("10:00:", "11:00:"),
    );
    let out = env.run(&["--max-attackers", "1"]).ok();
    assert!(
        out.stderr()
            .contains("more than 1 attackers (--max-attackers): forgot the 1 seen least recently"),
        "{}",
        out.stderr()
    );
    let attackers = env.state()["table"]["attackers"].clone();
    let kept: Vec<&String> = attackers.as_object().unwrap().keys().collect();
    assert_eq!(kept, ["198.51.100.7"]);
    // Still full: not said again.
    env.append(
        "auth.log",
        &guesses("203.0.113.9", 1, 300).replace("10:00:", "11:30:"),
    );
    let out = env.run(&["--max-attackers", "1"]).ok();
    assert_eq!(out.stderr(), "");
    assert_eq!(env.tries("203.0.113.9"), 1);
}

#[test]
fn abuseipdb_is_sent_one_address_seen_in_a_network_not_the_network() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    // Global addresses: documentation ones (2001:db8::/32) are never reported.
    let log = rotating(8).replace("2001:db8:", "2a02:c7f:");
    env.write("auth.log", &log).write("vsftpd.log", "");
    let api = super::fake_x::FakeX::start_plain(vec![super::fake_x::Reply::json(
        200,
        r#"{"data":{"ipAddress":"2a02:c7f:1:2:1::1","abuseConfidenceScore":52}}"#,
    )]);
    env.write(
        "sinks.toml",
        &format!(
            "passwd = \"no-such-passwd\"\n[abuseipdb]\nkey = \"ABUSEKEY-scale\"\napi-url = \"{}\"\n",
            api.url()
        ),
    );
    fs::set_permissions(env.path("sinks.toml"), fs::Permissions::from_mode(0o600)).unwrap();
    Out(env
        .run_on_files(&["--config", "sinks.toml", "--sink", "abuseipdb"])
        .output()
        .unwrap())
    .ok();
    let seen = api.requests();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0].field("ip"), "2a02:c7f:1:2:1::1");
}

/// Connections like `CONN` (three guesses each) from 203.0.113.1 to `ips`,
/// `rounds` from each, two open at a time with their lines alternating: a
/// read cut anywhere cuts connections in the middle.
fn interleaved(ips: usize, rounds: usize) -> String {
    let mut out = String::new();
    let mut pid = 5000;
    for round in 0..rounds {
        let all: Vec<usize> = (1..=ips).collect();
        for pair in all.chunks(2) {
            let conns: Vec<Vec<String>> = pair
                .iter()
                .map(|&i| {
                    pid += 1;
                    CONN.iter()
                        .map(|l| {
                            l.replace("203.0.113.5", &format!("203.0.113.{i}"))
                                .replace("[3504]", &format!("[{pid}]"))
                                .replace("00:00:0", &format!("{round:02}:{i:02}:0"))
                        })
                        .collect()
                })
                .collect();
            for k in 0..CONN.len() {
                for c in &conns {
                    out += &c[k];
                    out += "\n";
                }
            }
        }
    }
    out
}

/// The parts of the state file that hold attackers: one per save that had
/// any, until a compaction rewrites them as one.
fn attacker_chunks(env: &Env) -> usize {
    let file: Value = serde_json::from_slice(&fs::read(env.path("state.json")).unwrap()).unwrap();
    file["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p.get("attackers").is_some())
        .count()
}

/// The addresses a `run --json` announced, sorted.
fn announced(out: &Out) -> Vec<String> {
    let mut ips: Vec<String> = out
        .json_lines()
        .iter()
        .map(|v| v["ip"].as_str().unwrap().to_string())
        .collect();
    ips.sort();
    ips
}

const STAGE: &str = "TWEET_ATTACKS_STAGE_BYTES";

/// `run --json`, saving after each 700 bytes of log.
fn staged_run(env: &Env) -> Out {
    Out(env
        .run_args(&["--json"])
        .env(STAGE, "700")
        .output()
        .unwrap())
    .ok()
}

#[test]
fn a_long_read_is_saved_in_stages_and_counts_as_one_read_would() {
    let log = interleaved(6, 3);
    // A state compacted once already, so that the run appends each save
    // (a first run's last save compacts, and the stages' chunks with it).
    let first = guesses("198.51.100.1", 1, 100);
    let whole = Env::new();
    whole.write("auth.log", &first);
    whole.run(&[]).ok();
    whole.append("auth.log", &log);
    let one = Out(whole.run_args(&["--json"]).output().unwrap()).ok();
    let staged = Env::new();
    staged.write("auth.log", &first);
    staged.run(&[]).ok();
    staged.append("auth.log", &log);
    let out = staged_run(&staged);
    // The stages happened: a save each, so a chunk each.
    let stages = log.len() / 700;
    let (a, b) = (attacker_chunks(&whole), attacker_chunks(&staged));
    assert!(
        b >= a + stages - 1,
        "{b} chunks staged, {a} in one read, {stages} stages"
    );
    let ips: Vec<String> = (1..=6).map(|i| format!("203.0.113.{i}")).collect();
    for ip in &ips {
        assert_eq!(
            whole.tries(ip),
            9,
            "{ip}: three connections of three guesses"
        );
        assert_eq!(staged.tries(ip), whole.tries(ip), "{ip}");
    }
    let at = |env: &Env| env.state()["logs"]["auth.log"]["offset"].clone();
    assert_eq!(at(&staged), log.len() as u64 + first.len() as u64);
    assert_eq!(at(&staged), at(&whole));
    // Each announced once, in one run as in the other.
    assert_eq!(announced(&one), ips);
    assert_eq!(announced(&out), ips);
    assert_eq!(out.stderr(), "", "stages are not worth a word");
}

#[test]
fn a_run_killed_between_stages_goes_on_from_the_last_stage_saved() {
    let log = interleaved(6, 3);
    let env = Env::new();
    env.write("auth.log", &log);
    let mut cmd = env.run_args(&["--json"]);
    cmd.env(STAGE, "700");
    kill_at(&env, cmd, "run:stage-saved#3");
    // Killed after its third save: what those stages read is saved, with
    // where they got to, and nothing was announced yet.
    let offset = env.state()["logs"]["auth.log"]["offset"].as_u64().unwrap();
    assert!(offset >= 3 * 600 && offset < log.len() as u64, "{offset}");
    let out = staged_run(&env);
    let ips: Vec<String> = (1..=6).map(|i| format!("203.0.113.{i}")).collect();
    for ip in &ips {
        assert_eq!(env.tries(ip), 9, "{ip}: no line counted twice or lost");
    }
    assert_eq!(announced(&out), ips, "each once");
    let again = Out(env.run_args(&["--json"]).output().unwrap()).ok();
    assert_eq!(announced(&again), Vec::<String>::new());
}

#[test]
fn a_dry_run_reads_a_long_log_whole_and_saves_nothing() {
    let env = Env::new();
    env.write("auth.log", &interleaved(6, 3));
    let out = Out(env
        .run_args(&["--json", "--dry-run"])
        .env(STAGE, "700")
        .output()
        .unwrap())
    .ok();
    assert_eq!(announced(&out).len(), 6);
    assert!(!env.path("state.json").exists());
}

#[test]
fn a_reader_during_a_save_reads_the_last_whole_one_and_says_nothing() {
    let env = Env::new();
    env.write("auth.log", &guesses("203.0.113.9", 3, 100));
    env.run(&[]).ok();
    env.append("auth.log", &guesses("203.0.113.9", 4, 200));
    let mut run = paused_at(&env, quiet(&mut env.run_args(&[])), "save:synced");
    let show = || {
        Out(env
            .cmd(&["show", "--state", "state.json", "--json"])
            .output()
            .unwrap())
        .ok()
    };
    // The run holds the lock, its new parts synced, the trailer naming them not yet written.
    let during = show();
    assert_eq!(during.json_lines()[0]["tries"], 3, "the last whole save");
    assert_eq!(
        during.stderr(),
        "",
        "a save in progress is not one cut short"
    );
    run.kill().unwrap();
    run.wait().unwrap();
    // Killed there, the save was cut short, and now that is worth a word.
    let after = show();
    assert_eq!(after.json_lines()[0]["tries"], 3);
    assert!(
        after.stderr().contains("its last save was cut short"),
        "{}",
        after.stderr()
    );
}
