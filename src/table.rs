//! The attacker table: per address, tries, user names, services and times,
//! plus the few sshd connections still open, so a guess is counted once
//! even when its lines are split across two runs. Pure: no I/O.
//!
//! A try is one guess. Per sshd connection (one pid, one source address,
//! idle for less than `CONN_IDLE`), tries = max(F, P, E, 1): F counts
//! `Failed …` lines, P pam_unix failures, E sshd's `error: PAM:` lines, and
//! the 1 stands for any other attack line. vsftpd writes the same guess to
//! its own log (FAIL LOGIN) and through PAM to auth.log, so its tries are
//! max(FAIL LOGIN lines, pam_unix failures) per address.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::clock::Secs;
use crate::parse::{Event, Service, Slot};
use crate::source::fnv1a;
use crate::text;

/// A connection idle this long is over: sshd's LoginGraceTime is 120 s, and
/// `PAM K more` comes after the close line, so the close line cannot end it.
pub const CONN_IDLE: Secs = 300;

/// User names kept per attacker; the rest are only counted.
pub const MAX_USERS: usize = 10;

/// Open connections kept in memory before closed ones are swept during a long read.
const CONN_SWEEP_AT: usize = 50_000;

fn is_zero(n: &u64) -> bool {
    *n == 0
}
fn is_zero32(n: &u32) -> bool {
    *n == 0
}

/// Services as bits: compact in the state file, and cheap to merge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Services(u8);

impl Services {
    const ALL: [Service; 2] = [Service::Sshd, Service::Vsftpd];

    fn bit(s: Service) -> u8 {
        match s {
            Service::Sshd => 1,
            Service::Vsftpd => 2,
        }
    }
    pub fn insert(&mut self, s: Service) {
        self.0 |= Self::bit(s);
    }
    pub fn names(self) -> Vec<&'static str> {
        Self::ALL
            .iter()
            .filter(|s| self.0 & Self::bit(**s) != 0)
            .map(|s| s.as_str())
            .collect()
    }
}

/// One attacking address. Short field names keep a 100,000-attacker state small.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attacker {
    /// sshd tries: the sum over its connections of max(F, P, E, 1).
    #[serde(rename = "ssh", default, skip_serializing_if = "is_zero")]
    pub ssh_tries: u64,
    /// vsftpd FAIL LOGIN lines.
    #[serde(rename = "ftf", default, skip_serializing_if = "is_zero")]
    pub ftp_fail: u64,
    /// vsftpd pam_unix failures.
    #[serde(rename = "ftp", default, skip_serializing_if = "is_zero")]
    pub ftp_pam: u64,
    /// Distinct user names, in the order first tried, at most `MAX_USERS`.
    #[serde(rename = "u", default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Lines naming some other user once `users` was full.
    #[serde(rename = "um", default, skip_serializing_if = "is_zero32")]
    pub users_more: u32,
    #[serde(rename = "s")]
    pub services: Services,
    #[serde(rename = "f")]
    pub first: Secs,
    #[serde(rename = "l")]
    pub last: Secs,
    /// When it was announced, once it was.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub announced: Option<Secs>,
    /// The last overflow name seen, so the lines of one guess count once in `users_more`.
    #[serde(skip)]
    last_other: u64,
}

impl Attacker {
    pub fn tries(&self) -> u64 {
        self.ssh_tries + self.ftp_fail.max(self.ftp_pam)
    }

    fn add_user(&mut self, raw: &[u8]) {
        let name = text::clean(raw, text::MAX_NAME_CHARS);
        if self.users.contains(&name) {
            return;
        }
        if self.users.len() < MAX_USERS {
            self.users.push(name);
            return;
        }
        let h = fnv1a(name.as_bytes());
        if h != self.last_other {
            self.last_other = h;
            self.users_more = self.users_more.saturating_add(1);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConnKey {
    /// FNV-1a of the syslog host, so two servers' pids never meet.
    #[serde(rename = "h")]
    pub host: u64,
    pub pid: u32,
    pub ip: IpAddr,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conn {
    pub f: u32,
    pub p: u32,
    pub e: u32,
    /// max(F, P, E, 1) as already added to the attacker.
    pub n: u32,
    /// Newest line seen.
    pub t: Secs,
}

#[derive(Serialize, Deserialize)]
struct ConnRecord {
    #[serde(flatten)]
    key: ConnKey,
    #[serde(flatten)]
    conn: Conn,
}

/// Every attacker, plus the open sshd connections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub attackers: HashMap<IpAddr, Attacker>,
    pub conns: HashMap<ConnKey, Conn>,
    /// Newest event time merged.
    latest: Secs,
}

impl Table {
    /// Merges one failed-login event that happened at `t`.
    pub fn record(&mut self, ev: &Event, t: Secs) {
        self.latest = self.latest.max(t);
        let a = self.attackers.entry(ev.ip).or_insert_with(|| Attacker {
            first: t,
            last: t,
            ..Attacker::default()
        });
        a.first = a.first.min(t);
        a.last = a.last.max(t);
        a.services.insert(ev.service);
        if let Some(user) = ev.user {
            a.add_user(user);
        }
        let slot = ev.kind.slot();
        match ev.service {
            Service::Vsftpd => match slot {
                Slot::P => a.ftp_pam += ev.count as u64,
                _ => a.ftp_fail += ev.count as u64,
            },
            Service::Sshd => {
                let key = ConnKey {
                    host: ev.host.map(fnv1a).unwrap_or(0),
                    pid: ev.pid.unwrap_or(0),
                    ip: ev.ip,
                };
                let c = self.conns.entry(key).or_default();
                if c.n > 0 && (t - c.t).abs() > CONN_IDLE {
                    *c = Conn::default();
                }
                match slot {
                    Slot::F => c.f = c.f.saturating_add(ev.count),
                    Slot::P => c.p = c.p.saturating_add(ev.count),
                    Slot::E => c.e = c.e.saturating_add(ev.count),
                    Slot::Any => {}
                }
                let n = c.f.max(c.p).max(c.e).max(1);
                a.ssh_tries += (n - c.n) as u64;
                c.n = n;
                c.t = c.t.max(t);
                if self.conns.len() > CONN_SWEEP_AT {
                    self.close_conns(self.latest - CONN_IDLE);
                }
            }
        }
    }

    /// Forgets connections idle since before `cutoff`: their tries are counted already.
    pub fn close_conns(&mut self, cutoff: Secs) {
        self.conns.retain(|_, c| c.t >= cutoff);
    }

    /// Drops attackers idle since before `cutoff`, unless `keep` says otherwise.
    pub fn forget_idle(&mut self, cutoff: Secs, keep: impl Fn(&IpAddr) -> bool) -> usize {
        let before = self.attackers.len();
        self.attackers.retain(|ip, a| a.last >= cutoff || keep(ip));
        before - self.attackers.len()
    }

    /// Attackers, most tries first (ties by address, so output is stable).
    pub fn ranked(&self) -> Vec<(&IpAddr, &Attacker)> {
        let mut v: Vec<_> = self.attackers.iter().collect();
        v.sort_by(|a, b| b.1.tries().cmp(&a.1.tries()).then(a.0.cmp(b.0)));
        v
    }
}

impl Serialize for Table {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        // Sorted, so that the same table always writes the same bytes.
        let attackers: BTreeMap<&IpAddr, &Attacker> = self.attackers.iter().collect();
        let mut conns: Vec<ConnRecord> = self
            .conns
            .iter()
            .map(|(k, c)| ConnRecord { key: *k, conn: *c })
            .collect();
        conns.sort_by_key(|r| r.key);
        let mut st = s.serialize_struct("Table", 2)?;
        st.serialize_field("attackers", &attackers)?;
        st.serialize_field("conns", &conns)?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for Table {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default)]
            attackers: HashMap<IpAddr, Attacker>,
            #[serde(default)]
            conns: Vec<ConnRecord>,
        }
        let raw = Raw::deserialize(d)?;
        let latest = raw.attackers.values().map(|a| a.last).max().unwrap_or(0);
        Ok(Table {
            attackers: raw.attackers,
            conns: raw.conns.into_iter().map(|r| (r.key, r.conn)).collect(),
            latest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn feed(table: &mut Table, lines: &[(&str, Secs)]) {
        for (line, t) in lines {
            let ev = parse(line.as_bytes()).unwrap_or_else(|| panic!("not parsed: {line}"));
            table.record(&ev, *t);
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const CONN: [&str; 7] = [
        "Nov 26 00:00:02 web01 sshd[3504]: Invalid user admin from 203.0.113.5 port 17641",
        "Nov 26 00:00:02 web01 sshd[3504]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.5 ",
        "Nov 26 00:00:03 web01 sshd[3504]: Failed password for invalid user admin from 203.0.113.5 port 17641 ssh2",
        "Nov 26 00:00:05 web01 sshd[3504]: Failed password for invalid user admin from 203.0.113.5 port 17641 ssh2",
        "Nov 26 00:00:07 web01 sshd[3504]: Failed password for invalid user admin from 203.0.113.5 port 17641 ssh2",
        "Nov 26 00:00:08 web01 sshd[3504]: Connection closed by invalid user admin 203.0.113.5 port 17641 [preauth]",
        "Nov 26 00:00:08 web01 sshd[3504]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.5 ",
    ];

    #[test]
    fn one_connection_counts_guesses_not_lines() {
        let mut t = Table::default();
        let lines: Vec<_> = CONN
            .iter()
            .enumerate()
            .map(|(i, l)| (*l, 100 + i as Secs))
            .collect();
        feed(&mut t, &lines);
        let a = &t.attackers[&ip("203.0.113.5")];
        assert_eq!(a.tries(), 3, "7 lines, 8 events, 3 guesses");
        assert_eq!(a.users, ["admin"]);
        assert_eq!((a.first, a.last), (100, 106));
        assert_eq!(a.services.names(), ["sshd"]);
    }

    #[test]
    fn a_connection_split_across_runs_counts_once() {
        let mut t = Table::default();
        let lines: Vec<_> = CONN
            .iter()
            .enumerate()
            .map(|(i, l)| (*l, 100 + i as Secs))
            .collect();
        feed(&mut t, &lines[..3]);
        // The state is saved and loaded between the two halves.
        let json = serde_json::to_string(&t).unwrap();
        let mut t: Table = serde_json::from_str(&json).unwrap();
        feed(&mut t, &lines[3..]);
        assert_eq!(t.attackers[&ip("203.0.113.5")].tries(), 3);
    }

    #[test]
    fn reused_pid_after_idle_is_a_new_connection() {
        let mut t = Table::default();
        feed(&mut t, &[(CONN[2], 100), (CONN[3], 100 + CONN_IDLE + 1)]);
        assert_eq!(t.attackers[&ip("203.0.113.5")].tries(), 2);
        t.close_conns(100 + 2 * CONN_IDLE + 2);
        assert!(t.conns.is_empty());
    }

    #[test]
    fn pam_more_counts_k_and_repeated_counts_k() {
        let mut t = Table::default();
        feed(
            &mut t,
            &[
                (
                    "Nov 26 00:00:11 web01 sshd[7]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.1  user=root",
                    1,
                ),
                (
                    "Nov 26 00:00:11 web01 sshd[7]: PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.1  user=root",
                    2,
                ),
                (
                    "Nov 26 00:01:23 web01 sshd[8]: message repeated 4 times: [ Failed password for root from 198.51.100.1 port 9387 ssh2]",
                    3,
                ),
            ],
        );
        assert_eq!(t.attackers[&ip("198.51.100.1")].tries(), 6 + 4);
    }

    #[test]
    fn vsftpd_guess_seen_in_both_logs_counts_once() {
        let mut t = Table::default();
        let pam = "Nov 26 00:00:01 web01 vsftpd: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=admin rhost=198.51.100.33 ";
        let native =
            r#"Thu Nov 26 00:00:01 2026 [pid 4165] [admin] FAIL LOGIN: Client "198.51.100.33""#;
        feed(&mut t, &[(pam, 1), (pam, 2), (native, 1), (native, 2)]);
        let a = &t.attackers[&ip("198.51.100.33")];
        assert_eq!(a.tries(), 2);
        assert_eq!(a.services.names(), ["vsftpd"]);
        feed(&mut t, &[(native, 3)]);
        assert_eq!(t.attackers[&ip("198.51.100.33")].tries(), 3);
    }

    #[test]
    fn user_names_are_capped_and_cleaned() {
        let mut t = Table::default();
        for i in 0..30 {
            let line = format!(
                "Nov 26 00:00:02 web01 sshd[{i}]: Invalid user u{i}\x1b[0m from 203.0.113.9 port 1"
            );
            feed(&mut t, &[(&line, i as Secs)]);
            feed(&mut t, &[(&line, i as Secs)]);
        }
        let a = &t.attackers[&ip("203.0.113.9")];
        assert_eq!(a.users.len(), MAX_USERS);
        assert_eq!(a.users[0], "u0\\x1b[0m");
        assert_eq!(a.users_more, 20, "each other name counted once");
        assert_eq!(a.tries(), 30);
    }

    #[test]
    fn idle_attackers_are_forgotten_unless_kept() {
        let mut t = Table::default();
        feed(&mut t, &[(CONN[0], 10)]);
        feed(
            &mut t,
            &[(CONN[0].replace("203.0.113.5", "203.0.113.6").as_str(), 1000)],
        );
        assert_eq!(t.forget_idle(500, |_| false), 1);
        assert!(t.attackers.contains_key(&ip("203.0.113.6")));
        feed(&mut t, &[(CONN[0], 10)]);
        assert_eq!(t.forget_idle(500, |ip| ip.to_string() == "203.0.113.5"), 0);
    }

    #[test]
    fn ranked_is_most_tries_first() {
        let mut t = Table::default();
        feed(&mut t, &[(CONN[2], 1)]);
        let other = CONN[2]
            .replace("203.0.113.5", "198.51.100.2")
            .replace("[3504]", "[9]");
        feed(&mut t, &[(&other, 1), (&other, 2)]);
        let r: Vec<String> = t.ranked().iter().map(|(ip, _)| ip.to_string()).collect();
        assert_eq!(r, ["198.51.100.2", "203.0.113.5"]);
    }
}
