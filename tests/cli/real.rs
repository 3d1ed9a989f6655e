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
