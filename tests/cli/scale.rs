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
