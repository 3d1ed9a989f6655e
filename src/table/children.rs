//! sshd's PAM children. With keyboard-interactive, sshd runs each round of
//! PAM in a child process, so the round's `pam_unix(sshd:auth):
//! authentication failure` line carries the child's pid, and that pid
//! writes nothing else. The connection's own pid (the monitor) writes the
//! round's other lines: `error: PAM: Authentication failure for [illegal
//! user] U from A` every round, `Failed keyboard-interactive/pam` only for
//! an invalid user or from the third failure on. Seen with OpenSSH 9.2p1
//! and 10.0p1 (tests/fixtures/real):
//!
//! ```text
//! sshd[32344]: pam_unix(sshd:auth): authentication failure; … rhost=198.51.100.12  user=root
//! sshd[32185]: error: PAM: Authentication failure for root from 198.51.100.12
//! ```
//!
//! One guess, two pids. So a pid whose first line is a pam_unix failure is
//! remembered here as a possible child, and its try is counted at once.
//! When a monitor of the same host and address, with no pam_unix line of
//! its own, would count a try for a line of such a round (`error: PAM:`,
//! `Failed keyboard-interactive…`, or a first line such as `Connection
//! closed by authenticating user`), it claims a child of the same user (or
//! of none: pam_unix names no unknown user) instead: the guess is counted
//! once. A "child" that writes a second line was a monitor after all
//! (password auth runs PAM in the monitor): it is dropped, and a claim made
//! on it is given back.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{CONN_IDLE, ConnKey};
use crate::clock::Secs;
use crate::hash::Map;

/// Possible children remembered per host and address; the oldest go first.
const MAX_PER_ADDR: usize = 64;

#[derive(Debug, Clone, Copy)]
struct Child {
    pid: u32,
    /// FNV-1a of the `user=` it names, 0 when none (an unknown user).
    user: u64,
    t: Secs,
    claimed: bool,
}

/// Possible PAM children, per (host, address). Saved in the state's head,
/// so that a round that a cron run's end cuts in two still counts once.
#[derive(Debug, Clone, Default)]
pub struct Children {
    by_addr: Map<(u64, IpAddr), Vec<Child>>,
    /// The cutoff of the last sweep: sweeping is a scan, done once per `CONN_IDLE`.
    swept: Secs,
}

/// A possible child as the state's head keeps it.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChildRecord {
    /// FNV-1a of the syslog host, as in `ConnKey`.
    h: u64,
    ip: IpAddr,
    pid: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    user: u64,
    t: Secs,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    claimed: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Children {
    pub fn is_empty(&self) -> bool {
        self.by_addr.is_empty()
    }

    /// Every possible child, by host and address, each address's oldest first
    /// (the order `claim` takes them in).
    pub fn records(&self) -> Vec<ChildRecord> {
        let mut addrs: Vec<_> = self.by_addr.iter().collect();
        addrs.sort_unstable_by_key(|(k, _)| **k);
        addrs
            .into_iter()
            .flat_map(|(&(h, ip), v)| {
                v.iter().map(move |c| ChildRecord {
                    h,
                    ip,
                    pid: c.pid,
                    user: c.user,
                    t: c.t,
                    claimed: c.claimed,
                })
            })
            .collect()
    }

    /// The children `records` gave, in their order.
    pub fn from_records(records: Vec<ChildRecord>) -> Children {
        let mut out = Children::default();
        for r in records {
            let v = out.by_addr.entry((r.h, r.ip)).or_default();
            if v.len() < MAX_PER_ADDR {
                v.push(Child {
                    pid: r.pid,
                    user: r.user,
                    t: r.t,
                    claimed: r.claimed,
                });
            }
        }
        out
    }

    /// `key`'s first line was a pam_unix failure naming `user`.
    pub fn born(&mut self, key: ConnKey, user: u64, t: Secs) {
        let v = self.by_addr.entry((key.host, key.ip)).or_default();
        v.retain(|c| t - c.t <= CONN_IDLE);
        if v.len() >= MAX_PER_ADDR {
            v.remove(0);
        }
        v.push(Child {
            pid: key.pid,
            user,
            t,
            claimed: false,
        });
    }

    /// `key` wrote a second line, so it is no child. Returns true if a
    /// monitor had claimed it: that monitor's try must be counted after all.
    pub fn grew_up(&mut self, key: ConnKey) -> bool {
        let Some(v) = self.by_addr.get_mut(&(key.host, key.ip)) else {
            return false;
        };
        let Some(i) = v.iter().position(|c| c.pid == key.pid) else {
            return false;
        };
        v.remove(i).claimed
    }

    /// The monitor `key`, for a line naming `user`, takes the oldest
    /// unclaimed child of its address. True if there was one. Pids say
    /// nothing about which monitor forked which child: they wrap (seen in
    /// the captures: monitor 32185, children 32344, 496, 727), and two
    /// connections from one address run side by side. Any pairing gives the
    /// address the same tries, and only those are kept.
    pub fn claim(&mut self, key: ConnKey, user: u64, t: Secs) -> bool {
        let Some(v) = self.by_addr.get_mut(&(key.host, key.ip)) else {
            return false;
        };
        let child = v.iter_mut().find(|c| {
            !c.claimed
                && c.pid != key.pid
                && (c.user == 0 || c.user == user)
                && (t - c.t).abs() <= CONN_IDLE
        });
        match child {
            Some(c) => {
                c.claimed = true;
                true
            }
            None => false,
        }
    }

    /// Forgets children older than `cutoff`, unless swept less than
    /// `CONN_IDLE` before it: claimed ones are kept only for a late second line.
    pub fn sweep(&mut self, cutoff: Secs) {
        if self.by_addr.is_empty() || cutoff < self.swept + CONN_IDLE {
            return;
        }
        self.swept = cutoff;
        self.by_addr.retain(|_, v| {
            v.retain(|c| c.t >= cutoff);
            !v.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::Table;
    use super::super::tests::{feed, ip};
    use crate::clock::Secs;

    /// Lines that sshd 9.2p1 wrote in a run of tests/real/capture.sh before the
    /// committed one (pids as written, times shifted), in order: one in which
    /// the pids wrapped past pid_max (32768). Five rounds for root on one connection: pam_unix from five children
    /// (note the pids wrapping past 32768), `error: PAM:` from the monitor
    /// every round, `Failed keyboard-interactive/pam` from the third failure on
    /// (sshd's `Postponed keyboard-interactive` lines, no event, left out).
    const KBD_ROOT: &[&str] = &[
        "Dec  1 22:40:08 web01 sshd[32344]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.12  user=root",
        "Dec  1 22:40:10 web01 sshd[32185]: error: PAM: Authentication failure for root from 198.51.100.12",
        "Dec  1 22:40:10 web01 sshd[32447]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.12  user=root",
        "Dec  1 22:40:12 web01 sshd[32185]: error: PAM: Authentication failure for root from 198.51.100.12",
        "Dec  1 22:40:12 web01 sshd[496]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.12  user=root",
        "Dec  1 22:40:13 web01 sshd[32185]: error: PAM: Authentication failure for root from 198.51.100.12",
        "Dec  1 22:40:13 web01 sshd[727]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.12  user=root",
        "Dec  1 22:40:15 web01 sshd[32185]: error: PAM: Authentication failure for root from 198.51.100.12",
        "Dec  1 22:40:15 web01 sshd[32185]: Failed keyboard-interactive/pam for root from 198.51.100.12 port 49030 ssh2",
        "Dec  1 22:40:15 web01 sshd[1007]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.12  user=root",
        "Dec  1 22:40:17 web01 sshd[32185]: error: PAM: Authentication failure for root from 198.51.100.12",
        "Dec  1 22:40:17 web01 sshd[32185]: Failed keyboard-interactive/pam for root from 198.51.100.12 port 49030 ssh2",
        "Dec  1 22:40:17 web01 sshd[32185]: Connection closed by authenticating user root 198.51.100.12 port 49030 [preauth]",
    ];

    /// An invalid user: sshd writes `Invalid user` first, and pam_unix names no user.
    const KBD_INVALID: &[&str] = &[
        "Dec  1 22:40:18 web01 sshd[1258]: Invalid user admin from 198.51.100.12 port 34906",
        "Dec  1 22:40:18 web01 sshd[1271]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.12 ",
        "Dec  1 22:40:20 web01 sshd[1258]: error: PAM: Authentication failure for illegal user admin from 198.51.100.12",
        "Dec  1 22:40:20 web01 sshd[1258]: Failed keyboard-interactive/pam for invalid user admin from 198.51.100.12 port 34906 ssh2",
        "Dec  1 22:40:20 web01 sshd[1581]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.12 ",
        "Dec  1 22:40:22 web01 sshd[1258]: error: PAM: Authentication failure for illegal user admin from 198.51.100.12",
        "Dec  1 22:40:22 web01 sshd[1258]: Failed keyboard-interactive/pam for invalid user admin from 198.51.100.12 port 34906 ssh2",
        "Dec  1 22:40:23 web01 sshd[1258]: Connection closed by invalid user admin 198.51.100.12 port 34906 [preauth]",
    ];

    /// sshpass answers one round, then gives up: one guess.
    const SSHPASS: &[&str] = &[
        "Dec  1 22:40:08 web01 sshd[11642]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.11  user=root",
        "Dec  1 22:40:10 web01 sshd[11632]: error: PAM: Authentication failure for root from 198.51.100.11",
        "Dec  1 22:40:10 web01 sshd[11632]: Connection closed by authenticating user root 198.51.100.11 port 40118 [preauth]",
    ];

    /// Password auth: PAM runs in the monitor, so its pam_unix line shares
    /// the pid of `Failed password`. Two connections side by side, as hydra
    /// made them in that capture (cut to two guesses each), and an
    /// invalid-user connection of our own between them.
    const PASSWORD: &[&str] = &[
        "Dec  1 22:40:08 web01 sshd[10263]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.21  user=root",
        "Dec  1 22:40:08 web01 sshd[10264]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.21  user=root",
        "Dec  1 22:40:09 web01 sshd[10270]: Invalid user test from 203.0.113.21 port 33550",
        "Dec  1 22:40:10 web01 sshd[10263]: Failed password for root from 203.0.113.21 port 33538 ssh2",
        "Dec  1 22:40:10 web01 sshd[10264]: Failed password for root from 203.0.113.21 port 33546 ssh2",
        "Dec  1 22:40:12 web01 sshd[10264]: Failed password for root from 203.0.113.21 port 33546 ssh2",
        "Dec  1 22:40:12 web01 sshd[10263]: Failed password for root from 203.0.113.21 port 33538 ssh2",
        "Dec  1 22:40:13 web01 sshd[10264]: Connection closed by authenticating user root 203.0.113.21 port 33546 [preauth]",
        "Dec  1 22:40:13 web01 sshd[10264]: PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.21  user=root",
        "Dec  1 22:40:13 web01 sshd[10263]: Connection closed by authenticating user root 203.0.113.21 port 33538 [preauth]",
        "Dec  1 22:40:13 web01 sshd[10263]: PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.21  user=root",
        "Dec  1 22:40:14 web01 sshd[10270]: Connection closed by invalid user test 203.0.113.21 port 33550 [preauth]",
    ];

    fn tries(lines: &[&str], addr: &str) -> u64 {
        let mut t = Table::default();
        let timed: Vec<(&str, Secs)> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| (*l, 100 + i as Secs))
            .collect();
        feed(&mut t, &timed);
        t.attackers[&ip(addr)].tries()
    }

    #[test]
    fn a_keyboard_interactive_round_is_one_guess_whichever_pid_writes_it() {
        assert_eq!(tries(KBD_ROOT, "198.51.100.12"), 5);
        assert_eq!(tries(KBD_INVALID, "198.51.100.12"), 2);
        assert_eq!(tries(SSHPASS, "198.51.100.11"), 1);
        let both: Vec<&str> = KBD_ROOT.iter().chain(KBD_INVALID).copied().collect();
        assert_eq!(tries(&both, "198.51.100.12"), 7);
    }

    /// `tries`, with the table saved and loaded again before line `cut`,
    /// as a cron run ends and the next begins.
    fn tries_split(lines: &[&str], addr: &str, cut: usize) -> u64 {
        let timed: Vec<(&str, Secs)> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| (*l, 100 + i as Secs))
            .collect();
        let mut t = Table::default();
        feed(&mut t, &timed[..cut]);
        let mut t = super::super::store::tests::reloaded(&t);
        feed(&mut t, &timed[cut..]);
        t.all()[&ip(addr)].tries()
    }

    #[test]
    fn a_round_split_across_two_runs_is_still_one_guess() {
        for cut in 0..=KBD_ROOT.len() {
            assert_eq!(
                tries_split(KBD_ROOT, "198.51.100.12", cut),
                5,
                "cut before line {cut}"
            );
        }
        for cut in 0..=PASSWORD.len() {
            assert_eq!(
                tries_split(PASSWORD, "203.0.113.21", cut),
                5,
                "cut before line {cut}"
            );
        }
    }

    #[test]
    fn a_round_split_by_a_run_whose_last_line_was_another_programs_is_still_one_guess() {
        // The first run's last line is a CRON line a minute after its last
        // sshd line: the log's clock moves, and the run closes what is idle
        // by it, which is nothing of a round seconds long.
        let timed: Vec<(&str, Secs)> = KBD_ROOT
            .iter()
            .enumerate()
            .map(|(i, l)| (*l, 100 + i as Secs))
            .collect();
        for cut in 1..KBD_ROOT.len() {
            let mut t = Table::default();
            feed(&mut t, &timed[..cut]);
            t.saw(timed[cut - 1].1 + 60);
            t.close_conns();
            let mut t = super::super::store::tests::reloaded(&t);
            feed(&mut t, &timed[cut..]);
            assert_eq!(
                t.all()[&ip("198.51.100.12")].tries(),
                5,
                "cut before line {cut}"
            );
        }
    }

    #[test]
    fn password_auth_is_not_taken_for_a_child() {
        // Two root connections of two guesses each, and an invalid user with none.
        assert_eq!(tries(PASSWORD, "203.0.113.21"), 5);
    }

    #[test]
    fn a_monitor_that_claimed_a_pam_line_of_password_auth_gives_it_back() {
        // Made up from the lines above: 20264's first line looks like a
        // child's until its Failed password, and the keyboard-interactive
        // monitor 20250 claims it meanwhile.
        let lines = [
            "Dec  1 22:40:08 web01 sshd[20264]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.21  user=root",
            "Dec  1 22:40:09 web01 sshd[20250]: Connection closed by authenticating user root 203.0.113.21 port 33000 [preauth]",
            "Dec  1 22:40:10 web01 sshd[20264]: Failed password for root from 203.0.113.21 port 33546 ssh2",
            "Dec  1 22:40:10 web01 sshd[20264]: Connection closed by authenticating user root 203.0.113.21 port 33546 [preauth]",
        ];
        assert_eq!(tries(&lines, "203.0.113.21"), 2);
    }

    #[test]
    fn children_of_other_addresses_or_users_are_not_claimed() {
        let mut lines = vec![SSHPASS[0].replace("user=root", "user=oracle")];
        lines.push(SSHPASS[1].to_string());
        lines.push(SSHPASS[2].to_string());
        let lines: Vec<&str> = lines.iter().map(|s| s.as_str()).collect();
        assert_eq!(tries(&lines, "198.51.100.11"), 2, "another user's child");
        let other = SSHPASS[0].replace("198.51.100.11", "198.51.100.99");
        let lines = [other.as_str(), SSHPASS[1], SSHPASS[2]];
        assert_eq!(tries(&lines, "198.51.100.11"), 1);
        assert_eq!(tries(&lines, "198.51.100.99"), 1);
    }
}
