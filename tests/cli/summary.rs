//! `parse` and `replay` end with one summary line on stderr, in one format;
//! `parse --missed` lists the lines of sshd and vsftpd it did not understand.

use super::*;

const UNKNOWN: &str =
    "Nov 26 10:00:04 web01 sshd[9]: Frobnicated login for root from 203.0.113.9 port 22 ssh2";

fn mixed_log(env: &Env) {
    let log = format!(
        "Nov 26 10:00:00 web01 CRON[1]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)\n\
         Nov 26 10:00:01 web01 sshd[5]: Failed password for root from 203.0.113.1 port 22 ssh2\n\
         Nov 26 10:00:02 web01 sshd[5]: Failed password for root from 203.0.113.1 port 22 ssh2\n\
         Nov 26 10:00:03 web01 sshd[6]: Accepted publickey for deploy from 192.0.2.200 port 20311 ssh2: ED25519 SHA256:abc\n\
         {UNKNOWN}\n\
         Nov 26 10:00:05 web01 sshd[5]: Disconnecting: Too many authentication failures for admin [preauth]\n"
    );
    env.write("auth.log", &log);
}

const SUMMARY: &str = "tweet-attacks: 6 lines read, 3 recognised, 1 attackers, 2 tries\n";

#[test]
fn parse_missed_lists_an_unknown_sshd_line_and_the_summary_counts_it() {
    let env = Env::new();
    mixed_log(&env);
    let out = Out(env
        .cmd(&["parse", "--missed", "auth.log"])
        .output()
        .unwrap())
    .ok();
    assert_eq!(
        out.stdout(),
        format!("{UNKNOWN}\n"),
        "only the unknown line, as it is"
    );
    let err = out.stderr();
    assert!(err.starts_with(SUMMARY), "{err}");
    assert!(
        err.contains("recognised: failed_password 2, too_many_failures 1; 1 line(s) of sshd or vsftpd with an address not understood"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 2, "{err}");

    // Without --missed: the JSON lines as before (the line without an
    // address of its own is counted, not printed), and the same summary.
    let out = Out(env.cmd(&["parse", "auth.log"]).output().unwrap()).ok();
    let rows = out.json_lines();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["ip"] == "203.0.113.1"));
    assert!(out.stderr().starts_with(SUMMARY), "{}", out.stderr());
}

/// A line the daemon may have written in two ways, one of them a failure
/// of another address, is counted for nobody: `parse --missed` lists it
/// behind `ambiguous: `, the summary counts it, and `parse` prints no event.
#[test]
fn parse_missed_lists_an_ambiguous_line_counted_for_nobody() {
    let env = Env::new();
    // Real sshd 9.2's line for a client that changed its service (captured
    // in tests/fixtures/real/attacks), and vsftpd's for a path the client chose.
    let sshd = "Nov 26 10:00:01 web01 sshd[7]: Disconnecting invalid user root 198.51.100.40 port 35618: Change of username or service not allowed: (root,x 8.8.8.8 port 22: Too many authentication failures [preauth]";
    let ftp = r#"Thu Nov 26 10:00:02 2026 [pid 9] [eve] OK MKDIR: Client "::ffff:198.51.100.41", "/home/eve/a] FAIL LOGIN: Client "8.8.8.8""#;
    env.write("auth.log", &format!("{sshd}\n"));
    env.write("vsftpd.log", &format!("{ftp}\n"));
    let out = Out(env
        .cmd(&["parse", "--missed", "auth.log", "vsftpd.log"])
        .output()
        .unwrap())
    .ok();
    assert_eq!(
        out.stdout(),
        format!("ambiguous: {sshd}\nambiguous: {ftp}\n"),
        "{}",
        out.stderr()
    );
    assert!(
        out.stderr().contains("2 ambiguous, counted for nobody"),
        "{}",
        out.stderr()
    );
    let out = Out(env
        .cmd(&["parse", "auth.log", "vsftpd.log"])
        .output()
        .unwrap())
    .ok();
    assert_eq!(out.stdout(), "", "no event for anyone");
    assert!(out.stderr().contains("0 attackers"), "{}", out.stderr());
}

#[test]
fn replay_ends_with_the_same_summary() {
    let env = Env::new();
    mixed_log(&env);
    let out = Out(env.cmd(&["replay", "auth.log"]).output().unwrap()).ok();
    assert_eq!(out.stderr(), SUMMARY);
}
