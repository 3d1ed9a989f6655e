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

use std::cmp::Reverse;
use std::collections::HashMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::clock::Secs;
use crate::parse::{Event, Service, Slot};
use crate::source::fnv1a;
use crate::text;

/// A connection idle this long is over: sshd's LoginGraceTime is 120 s, and
/// `PAM K more` comes after the close line, so the close line cannot end it.
pub const CONN_IDLE: Secs = 300;

/// Our servers remembered per attacker.
pub const MAX_HOSTS: usize = 16;

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
    /// Which of our servers it hit (syslog host names, from central syslog),
    /// at most `MAX_HOSTS`.
    #[serde(rename = "h", default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// The last overflow name seen, so the lines of one guess count once in `users_more`.
    #[serde(skip)]
    last_other: u64,
}

impl Attacker {
    pub fn tries(&self) -> u64 {
        self.ssh_tries + self.ftp_fail.max(self.ftp_pam)
    }

    fn add_user(&mut self, raw: &[u8]) {
        // Nearly every name is short printable ASCII, which `text::clean` keeps
        // as it is: such a name is compared and hashed without building a String.
        let plain =
            raw.len() <= text::MAX_NAME_CHARS && raw.iter().all(|b| (0x20..0x7f).contains(b));
        let cleaned;
        let name: &[u8] = if plain {
            raw
        } else {
            cleaned = text::clean(raw, text::MAX_NAME_CHARS);
            cleaned.as_bytes()
        };
        if self.users.iter().any(|u| u.as_bytes() == name) {
            return;
        }
        if self.users.len() < MAX_USERS {
            // Valid UTF-8 either way: ASCII, or what `clean` made.
            self.users.push(String::from_utf8_lossy(name).into_owned());
            return;
        }
        let h = fnv1a(name);
        if h != self.last_other {
            self.last_other = h;
            self.users_more = self.users_more.saturating_add(1);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConnKey {
    /// FNV-1a of the syslog host, so two servers' pids never meet.
    #[serde(rename = "h")]
    pub host: u64,
    pub pid: u32,
    pub ip: IpAddr,
}

/// Hashed as one run of bytes: one call into the hasher instead of five.
impl std::hash::Hash for ConnKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let mut b = [0u8; 29];
        b[..8].copy_from_slice(&self.host.to_le_bytes());
        b[8..12].copy_from_slice(&self.pid.to_le_bytes());
        match self.ip {
            IpAddr::V4(ip) => b[13..17].copy_from_slice(&ip.octets()),
            IpAddr::V6(ip) => {
                b[12] = 6;
                b[13..].copy_from_slice(&ip.octets());
            }
        }
        state.write(&b);
    }
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
        if let Some(host) = ev.host
            && a.hosts.len() < MAX_HOSTS
            && !a.hosts.iter().any(|h| h.as_bytes() == host)
        {
            a.hosts.push(text::clean(host, 64));
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
        // Sorted on keys held by value: comparing through the references
        // would chase pointers all over the map, a cache miss per comparison.
        let mut v: Vec<_> = self
            .attackers
            .iter()
            .map(|(ip, a)| (Reverse(a.tries()), ip_order(ip), ip, a))
            .collect();
        // The keys are unique (one per address), so the unstable sort gives the one order.
        v.sort_unstable_by_key(|&(tries, order, _, _)| (tries, order));
        v.into_iter().map(|(_, _, ip, a)| (ip, a)).collect()
    }
}

/// A key that sorts as `IpAddr` does: every IPv4 address before every IPv6
/// one, each by its numeric value.
fn ip_order(ip: &IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(v4) => (false, u32::from(*v4).into()),
        IpAddr::V6(v6) => (true, u128::from(*v6)),
    }
}

impl Serialize for Table {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        // Sorted by address, so that the same table always writes the same bytes:
        // IPv4 before IPv6 (as `IpAddr` sorts), each on an integer key held by value.
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (ip, a) in &self.attackers {
            match ip {
                IpAddr::V4(x) => v4.push((u32::from(*x), ip, a)),
                IpAddr::V6(x) => v6.push((u128::from(*x), ip, a)),
            }
        }
        v4.sort_unstable_by_key(|&(key, _, _)| key);
        v6.sort_unstable_by_key(|&(key, _, _)| key);
        let attackers = SortedMap { v4, v6 };
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

/// Attackers in address order, written as one JSON object (as a `BTreeMap` would be).
struct SortedMap<'a> {
    v4: Vec<(u32, &'a IpAddr, &'a Attacker)>,
    v6: Vec<(u128, &'a IpAddr, &'a Attacker)>,
}

impl Serialize for SortedMap<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v4 = self.v4.iter().map(|&(_, ip, a)| (ip, a));
        s.collect_map(v4.chain(self.v6.iter().map(|&(_, ip, a)| (ip, a))))
    }
}

impl<'de> Deserialize<'de> for Table {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default, deserialize_with = "attackers_map")]
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

/// The attackers of a state file: the same map `HashMap::deserialize` reads,
/// read faster: addresses are decoded by `parse::parse_ip` (exactly
/// `IpAddr::from_str`, without its UTF-8 and generic parsing overhead).
fn attackers_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<HashMap<IpAddr, Attacker>, D::Error> {
    struct Key(IpAddr);
    impl<'de> Deserialize<'de> for Key {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl serde::de::Visitor<'_> for V {
                type Value = IpAddr;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("IP address")
                }
                fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<IpAddr, E> {
                    // The words of `IpAddr`'s own error.
                    crate::parse::parse_ip(s.as_bytes())
                        .ok_or_else(|| E::custom("invalid IP address syntax"))
                }
            }
            if d.is_human_readable() {
                d.deserialize_str(V).map(Key)
            } else {
                IpAddr::deserialize(d).map(Key)
            }
        }
    }
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = HashMap<IpAddr, Attacker>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map")
        }
        fn visit_map<M: serde::de::MapAccess<'de>>(
            self,
            mut m: M,
        ) -> Result<Self::Value, M::Error> {
            let mut map = HashMap::with_capacity(m.size_hint().unwrap_or(0));
            while let Some(Key(ip)) = m.next_key()? {
                // A repeated address: the last one wins, as in `HashMap::deserialize`.
                map.insert(ip, m.next_value::<Attacker>()?);
            }
            Ok(map)
        }
    }
    d.deserialize_map(V)
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
    fn ranked_and_saved_orders_are_those_of_ip_addr() {
        // Ties on tries, IPv4 against IPv6, and IPv6 addresses below 2^32.
        let addrs = [
            "203.0.113.5",
            "10.0.0.1",
            "::1",
            "::ffff:0",
            "2001:db8::1",
            "0.0.0.1",
            "255.255.255.255",
            "::",
            "1.2.3.4",
            "fe80::1",
            "::2",
            "2001:db8::",
        ];
        let mut t = Table::default();
        for (i, a) in addrs.iter().enumerate() {
            let line = format!(
                "Nov 26 00:00:01 web01 sshd[{i}]: message repeated {} times: [ Failed password for root from {a} port 22 ssh2]",
                1 + i % 3
            );
            t.record(&parse(line.as_bytes()).unwrap(), 1);
        }
        let mut want: Vec<_> = t.attackers.iter().collect();
        want.sort_by(|a, b| b.1.tries().cmp(&a.1.tries()).then(a.0.cmp(b.0)));
        assert_eq!(t.ranked(), want);
        // Saved as a BTreeMap by address would be, byte for byte.
        let sorted: std::collections::BTreeMap<_, _> = t.attackers.iter().collect();
        let json = serde_json::to_string(&t).unwrap();
        let want = format!(
            "{{\"attackers\":{},",
            serde_json::to_string(&sorted).unwrap()
        );
        assert!(json.starts_with(&want), "{json}");
        // And the keys come back as the same addresses.
        let back: Table = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn state_addresses_read_as_ip_addr_reads_them() {
        let one = |key: &str| {
            let json = format!(r#"{{"attackers":{{"{key}":{{"s":1,"f":0,"l":0}}}}}}"#);
            serde_json::from_str::<Table>(&json).map(|t| *t.attackers.keys().next().unwrap())
        };
        for key in ["1.2.3.4", "::ffff:1.2.3.4", "2001:db8::1", "::"] {
            assert_eq!(one(key).unwrap(), key.parse::<IpAddr>().unwrap(), "{key}");
        }
        for key in ["01.2.3.4", "1.2.3", "host.example", "1::2::3", ""] {
            let err = one(key).unwrap_err().to_string();
            assert!(err.contains("invalid IP address syntax"), "{key}: {err}");
        }
    }

    #[test]
    fn the_servers_it_hit_are_recorded() {
        let mut t = Table::default();
        let other = CONN[2].replace("web01", "db02.example.org");
        feed(&mut t, &[(CONN[2], 1), (CONN[3], 2), (other.as_str(), 3)]);
        assert_eq!(
            t.attackers[&ip("203.0.113.5")].hosts,
            ["web01", "db02.example.org"]
        );
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
