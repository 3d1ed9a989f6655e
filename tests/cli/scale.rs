//! Counting that holds at scale and against hostile input: connections
//! closed by the log's clock, IPv6 networks counted as one, a bounded table.

use super::*;

/// One sshd connection: three guesses (F = 3, P = 1 + 2).
const CONN: [&str; 7] = [
    "Nov 26 00:00:02 web01 sshd[3504]: Invalid user admin from 203.0.113.5 port 17641",
    "Nov 26 00:00:02 web01 sshd[3504]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.5 ",
    "Nov 26 00:00:03 web01 sshd[3504]: Failed password for invalid user admin from 203.0.113.5 port 17641 ssh2",
    "Nov 26 00:00:05 web01 sshd[3504]: Failed password for invalid user admin from 203.0.113.5 port 17641 ssh2",
    "Nov 26 00:00:07 web01 sshd[3504]: Failed password for invalid user admin from 203.0.113.5 port 17641 ssh2",
    "Nov 26 00:00:08 web01 sshd[3504]: Connection closed by invalid user admin 203.0.113.5 port 17641 [preauth]",
    "Nov 26 00:00:08 web01 sshd[3504]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.5 ",
];

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
    assert!(text.contains("from 2001:db8:1:2::/64: 8 tries"), "{text}");
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
