//! The fixtures that real daemons wrote while real clients attacked them
//! (tests/fixtures/real, made by tests/real/capture.sh): every address must
//! get exactly the tries in truth.json, in every log format.

use std::collections::HashMap;

use super::*;

/// Debian 12's OpenSSH (`sshd[pid]`) and bookworm-backports' (`sshd-session[pid]`).
const CAPTURES: [&str; 2] = ["openssh-9.2p1", "openssh-10.0p1"];

/// rsyslog's two file formats, each as written and with `$RepeatedMsgReduction on`.
const AUTH_LOGS: [&str; 4] = [
    "auth.trad.log",
    "auth.iso.log",
    "auth.trad.reduced.log",
    "auth.iso.reduced.log",
];

fn fixture(capture: &str, name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/real")
        .join(capture)
        .join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Address -> (client, service, tries) from a capture's truth.json.
fn truth(capture: &str) -> Vec<(String, String, String, u64)> {
    let v: Value = serde_json::from_str(&fixture(capture, "truth.json")).unwrap();
    let rows: Vec<_> = v["attackers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(ip, e)| {
            (
                ip.clone(),
                e["client"].as_str().unwrap().to_string(),
                e["service"].as_str().unwrap().to_string(),
                e["tries"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(rows.len() >= 10, "{capture}: {} attackers", rows.len());
    rows
}

/// `run` over one auth log and vsftpd.log (or one of them); returns every
/// address in the state with its tries.
fn counted(capture: &str, auth: Option<&str>, ftp: bool) -> HashMap<String, u64> {
    let env = Env {
        // After the capture, which wrote its logs on 2026-12-01 (UTC).
        now: "2026-12-02T00:00:00Z".to_string(),
        ..Env::new()
    };
    // Both logs are named explicitly, so both must exist.
    env.write(
        "auth.log",
        &auth.map(|a| fixture(capture, a)).unwrap_or_default(),
    );
    if ftp {
        env.write("vsftpd.log", &fixture(capture, "vsftpd.log"));
    }
    // The truth is per address; IPv6 is otherwise counted per /64.
    env.run(&["--ipv6-prefix", "128"]).ok();
    env.state()["table"]["attackers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(ip, a)| (ip.clone(), attacker_tries(a)))
        .collect()
}

fn check(what: &str, got: &HashMap<String, u64>, want: &[(String, String, String, u64)]) {
    let mut wrong = Vec::new();
    for (ip, client, _, tries) in want {
        let n = got.get(ip).copied().unwrap_or(0);
        if n != *tries {
            wrong.push(format!("{ip} ({client}): {n} tries, truth {tries}"));
        }
    }
    for ip in got.keys() {
        if !want.iter().any(|(w, ..)| w == ip) {
            wrong.push(format!("{ip}: blamed, but no client had that address"));
        }
    }
    assert!(wrong.is_empty(), "{what}:\n{}", wrong.join("\n"));
}

#[test]
fn real_daemon_logs_count_exactly_in_every_format() {
    for capture in CAPTURES {
        let want = truth(capture);
        for auth in AUTH_LOGS {
            let got = counted(capture, Some(auth), true);
            check(&format!("{capture}/{auth} + vsftpd.log"), &got, &want);
        }
    }
}

#[test]
fn vsftpd_own_log_counts_each_ftp_guess_once() {
    for capture in CAPTURES {
        let want: Vec<_> = truth(capture)
            .into_iter()
            .filter(|(_, _, service, _)| service == "vsftpd")
            .collect();
        assert!(want.len() >= 4, "{capture}: lftp, ftplib, curl, hydra");
        check(
            &format!("{capture}/vsftpd.log"),
            &counted(capture, None, true),
            &want,
        );
    }
}

#[test]
fn the_fixtures_hold_what_they_claim() {
    for capture in CAPTURES {
        let program = if capture == "openssh-9.2p1" {
            " sshd["
        } else {
            " sshd-session["
        };
        for auth in AUTH_LOGS {
            let log = fixture(capture, auth);
            assert!(log.contains(program), "{capture}/{auth}: {program}");
            assert!(
                log.contains("Failed keyboard-interactive/pam")
                    && log.contains("error: PAM: Authentication failure"),
                "{capture}/{auth}: keyboard-interactive through PAM"
            );
            assert!(
                log.contains("error: maximum authentication attempts exceeded"),
                "{capture}/{auth}: MaxAuthTries"
            );
            assert_eq!(
                log.contains("penalty: failed authentication"),
                capture == "openssh-10.0p1",
                "{capture}/{auth}: PerSourcePenalties refused connections"
            );
            assert_eq!(
                log.contains("message repeated"),
                auth.contains("reduced"),
                "{capture}/{auth}: repeated-message reduction"
            );
            assert_eq!(
                log.starts_with("20"),
                auth.contains("iso"),
                "{capture}/{auth}: file format"
            );
        }
        let ftp = fixture(capture, "vsftpd.log");
        assert!(ftp.contains("FAIL LOGIN") && ftp.contains("FTP response"));
    }
}

#[test]
fn a_round_without_its_error_line_still_counts_once_through_run() {
    // c3's invalid-user connection from openssh-9.2p1 without sshd's
    // `error: PAM:` lines, as a log filtered for Failed|pam_unix leaves it:
    // the round is then told by the method of `Failed keyboard-interactive/pam`,
    // which must survive the reader's hand-over to the table.
    let env = Env {
        now: "2026-12-02T00:00:00Z".to_string(),
        ..Env::new()
    };
    let log: String = fixture("openssh-9.2p1", "auth.trad.log")
        .lines()
        .filter(|l| l.contains("198.51.100.12") && !l.contains("error: PAM"))
        .filter(|l| l.contains("admin") || l.contains("rhost=198.51.100.12 "))
        .filter(|l| !l.contains("user=root"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(log.matches("pam_unix").count(), 5, "{log}");
    env.write("auth.log", &log);
    env.run(&[]).ok();
    assert_eq!(env.tries("198.51.100.12"), 5, "{log}");
}

/// tests/fixtures/real/attacks* (made by tests/real/innocent.sh): real sshd
/// and vsftpd lines in which an attacking client planted an innocent
/// address, for Debian 12's OpenSSH and bookworm-backports'.
const ATTACKS: [&str; 2] = ["attacks", "attacks-10.0p1"];

/// The clients' addresses and the innocent ones, from a capture's truth.json.
fn attack_truth(capture: &str) -> (Vec<String>, Vec<String>) {
    let v: Value = serde_json::from_str(&fixture(capture, "truth.json")).unwrap();
    let clients: Vec<String> = v["clients"].as_object().unwrap().keys().cloned().collect();
    let innocent: Vec<String> = v["innocent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ip| ip.as_str().unwrap().to_string())
        .collect();
    assert_eq!(clients.len(), 3, "two sshd clients, one vsftpd client");
    (clients, innocent)
}

#[test]
fn the_attack_fixtures_hold_every_attack() {
    // One line of each attack, as the daemons wrote it.
    let auth_lines = [
        "Change of username or service not allowed: (root,x 8.8.8.8 port 22: Too many authentication failures [preauth]",
        "Change of username or service not allowed: (root,x 2001:4860:4860::8888 port 22: Too many authentica [preauth]",
        "(root,ssh-connection) -> (root, from 8.8.8.8 port 22 ssh2 [preauth]",
        "Failed password for invalid user x from 8.8.8.8 port 22 from 198.51.100.40 port ",
        " ID  from 8.8.8.8 port 22 ssh2: x (serial 1) CA ED25519 SHA256:",
        "xxxxxxxxxx from 10.10.1.2 port 55555 ssh2\n",
        "ruser=8.8.8.8 rhost=::ffff:203.0.113.40",
        ":11: Failed password for root from 8.8.8.8 port 22 ssh2 [preauth]",
        "Their offer: x from 8.8.8.8 port 22 ssh2 [preauth]",
    ];
    let ftp_lines = [
        r#"[eve] OK MKDIR: Client "::ffff:203.0.113.40", "/home/eve/a] FAIL LOGIN: Client "8.8.8.8""#,
        r#"[eve] FAIL MKDIR: Client "::ffff:203.0.113.40", "/home/eve/a] FAIL LOGIN: Client "8.8.8.8""#,
        r#"[eve] OK RMDIR: Client "::ffff:203.0.113.40", "/home/eve/e] FAIL LOGIN: Client "8.8.8.8""#,
        r#"[eve] OK DELETE: Client "::ffff:203.0.113.40", "/home/eve/f] FAIL LOGIN: Client "8.8.8.8""#,
        r#"[x] FTP command: Client "::ffff:203.0.113.40", "HELP a] FAIL LOGIN: Client "8.8.8.8""#,
        r#"[x] FAIL LOGIN: Client "8.8.8.8] FAIL LOGIN: Client "::ffff:203.0.113.40""#,
    ];
    for capture in ATTACKS {
        let auth = fixture(capture, "auth.log");
        let ftp = fixture(capture, "vsftpd.log");
        for line in auth_lines {
            assert!(auth.contains(line), "{capture}/auth.log: missing {line}");
        }
        for line in ftp_lines {
            assert!(ftp.contains(line), "{capture}/vsftpd.log: missing {line}");
        }
        // Through the reference's rsyslog snippet: the daemons' lines only,
        // the connections' from sshd-session from OpenSSH 9.8 on.
        let session = if capture == "attacks" {
            " sshd["
        } else {
            " sshd-session["
        };
        assert!(auth.contains(session), "{capture}: {session}");
        assert!(
            auth.lines()
                .all(|l| [" sshd[", " sshd-session[", " vsftpd: "]
                    .iter()
                    .any(|p| l.contains(p))),
            "{capture}: a line of another program"
        );
    }
}

#[test]
fn real_attacks_never_get_an_innocent_address_counted() {
    let mut problems = Vec::new();
    for capture in ATTACKS {
        let (clients, innocent) = attack_truth(capture);
        // Line by line: what `parse` names.
        let env = Env {
            now: "2026-12-08T00:00:00Z".to_string(),
            ..Env::new()
        };
        env.write("auth.log", &fixture(capture, "auth.log"));
        env.write("vsftpd.log", &fixture(capture, "vsftpd.log"));
        let parsed = Out(env
            .cmd(&["parse", "auth.log", "vsftpd.log"])
            .output()
            .unwrap())
        .ok();
        let wrong: Vec<String> = parsed
            .stdout()
            .lines()
            .filter(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                !clients.iter().any(|c| v["ip"] == c.as_str())
            })
            .map(String::from)
            .collect();
        // Through `run` to the stdout sink: the table and what would be posted.
        let out = env.run(&["--ipv6-prefix", "128", "--threshold", "0"]).ok();
        let table = env.state()["table"]["attackers"]
            .as_object()
            .unwrap()
            .clone();
        let mut blamed: Vec<&String> = table.keys().filter(|ip| !clients.contains(ip)).collect();
        blamed.sort();
        let posted: Vec<&String> = innocent
            .iter()
            .filter(|ip| out.stdout().contains(ip.as_str()))
            .collect();
        if !(wrong.is_empty() && blamed.is_empty() && posted.is_empty()) {
            problems.push(format!(
                "{capture}: counted for no client: {blamed:?}; innocent addresses in the posts: \
                 {posted:?}\nparse named no client in:\n{}",
                wrong.join("\n")
            ));
        }
        // The clients' own plain failures (wrong passwords, FTP logins) still count.
        for ip in clients.iter().filter(|ip| !table.contains_key(*ip)) {
            problems.push(format!("{capture}: the client {ip} is not counted"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
