//! Who is due: attackers past the threshold, not yet announced, not ignored,
//! at a global address (`scope`: internal ones are counted, never
//! announced). No I/O of its own and no clock (the time comes in `Policy`);
//! but asking the table for every attacker's standing (`for_each_standing`)
//! reads the stored ones' blocks from the state file, and a block that
//! fails is recorded as the table's fault (see `state::check`), not returned.

use std::net::IpAddr;
use std::str::FromStr;

use anyhow::{Context, Result, bail};

use crate::clock::Secs;
use crate::table::Table;

/// An address or network given to `--ignore`, e.g. `192.0.2.7` or `2001:db8::/32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    /// The network of `prefix` bits at `ip` (a prefix past the family's width is all of it).
    pub fn new(ip: IpAddr, prefix: u8) -> Net {
        let addr = ip.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        Net {
            addr,
            prefix: prefix.min(max),
        }
    }

    /// Its address, as given (canonical: an IPv4-mapped address as IPv4).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// One holds the other: an address inside a network, or a network inside a wider one.
    pub fn overlaps(&self, other: &Net) -> bool {
        match self.prefix <= other.prefix {
            true => self.contains(&other.addr),
            false => other.contains(&self.addr),
        }
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// One address as a network of its own (`/32` or `/128`), e.g. the host's own addresses.
impl From<IpAddr> for Net {
    fn from(ip: IpAddr) -> Net {
        let addr = ip.to_canonical();
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        Net { addr, prefix }
    }
}

impl FromStr for Net {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Net> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .with_context(|| format!("not an IP address or CIDR network: {s:?}"))?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .with_context(|| format!("bad prefix length in {s:?} (0 to {max})"))?,
        };
        if prefix > max {
            bail!("bad prefix length in {s:?}");
        }
        Ok(Net { addr, prefix })
    }
}

/// Loopback is never an attacker worth announcing or blocking (it is
/// internal too: `scope`).
pub fn default_ignores() -> Vec<Net> {
    vec![
        "127.0.0.0/8".parse().expect("valid"),
        "::1/128".parse().expect("valid"),
    ]
}

#[derive(Debug, Clone)]
pub struct Policy {
    /// Due once tries exceed this.
    pub threshold: u64,
    pub ignore: Vec<Net>,
    /// Announce only attackers whose last try is at or after this. `run`
    /// sets it to a day before now, so that a first run over a week of
    /// logs announces today's attackers and not the whole history; the
    /// older ones stay in the table and are announced if they come back.
    pub active_since: Option<Secs>,
}

/// How recent an attacker's last try must be for `run` to announce it.
pub const ACTIVE_WINDOW: Secs = 24 * 3600;

impl Policy {
    pub fn ignores(&self, ip: &IpAddr) -> bool {
        self.ignore.iter().any(|n| n.contains(ip))
    }

    /// An attacker whose last try is `last` (None: not touched by this
    /// run's lines, so not active now) may be announced.
    fn active(&self, last: Option<Secs>) -> bool {
        match self.active_since {
            None => true,
            Some(since) => last.is_some_and(|l| l >= since),
        }
    }

    /// Whether the network of `prefix` bits at `ip` (an attacker counted as
    /// one) meets an ignored one: an ignored address inside it hides it all.
    pub fn ignores_network(&self, ip: &IpAddr, prefix: u8) -> bool {
        let net = Net {
            addr: ip.to_canonical(),
            prefix,
        };
        self.ignore
            .iter()
            .any(|n| n.contains(ip) || net.contains(&n.addr))
    }
}

/// Attackers that newly passed the threshold, most tries first: only those
/// at a global address (a network's first address, for a network counted
/// as one). `queued` says which are already waiting to be published.
pub fn decide(table: &Table, policy: &Policy, queued: impl Fn(&IpAddr) -> bool) -> Vec<IpAddr> {
    // Filter before sorting: a table of 100,000 attackers has only a few due.
    let rules = table.rules();
    let mut due: Vec<(u64, IpAddr)> = Vec::new();
    let consider = |s: crate::table::Standing| {
        if s.tries > policy.threshold
            && !s.announced
            && crate::scope::is_global(s.ip)
            && policy.active(s.last)
            && !policy.ignores_network(&s.ip, rules.prefix_of(&s.ip))
            && !queued(&s.ip)
        {
            due.push((s.tries, s.ip));
        }
    };
    // Only those touched now can be active: the stored ones need not be read.
    match policy.active_since {
        Some(_) => table.touched_standings().for_each(consider),
        None => table.for_each_standing(consider),
    }
    due.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    due.into_iter().map(|(_, ip)| ip).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn table_with(tries: &[(&str, u32)]) -> Table {
        let mut t = Table::default();
        for (addr, n) in tries {
            let line = format!(
                "Nov 26 00:00:01 web01 sshd[1]: message repeated {n} times: [ Failed password for root from {addr} port 22 ssh2]"
            );
            t.record(&parse(line.as_bytes()).unwrap(), 1);
        }
        t
    }

    #[test]
    fn nets() {
        let n: Net = "203.0.113.0/24".parse().unwrap();
        assert!(n.contains(&"203.0.113.77".parse().unwrap()));
        assert!(n.contains(&"::ffff:203.0.113.77".parse().unwrap()));
        assert!(!n.contains(&"203.0.114.1".parse().unwrap()));
        let n: Net = "2001:db8::/32".parse().unwrap();
        assert!(n.contains(&"2001:db8:1::5".parse().unwrap()));
        assert!(!n.contains(&"2001:db9::5".parse().unwrap()));
        let all: Net = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(&"8.8.8.8".parse().unwrap()));
        let one: Net = "192.0.2.7".parse().unwrap();
        assert!(one.contains(&"192.0.2.7".parse().unwrap()));
        assert!(!one.contains(&"192.0.2.8".parse().unwrap()));
        assert!("192.0.2.0/33".parse::<Net>().is_err());
        assert!("example.com".parse::<Net>().is_err());
        let host = Net::from("::ffff:192.0.2.7".parse::<IpAddr>().unwrap());
        assert_eq!(host, one, "one address is a /32 of its canonical form");
        assert!(!host.contains(&"192.0.2.8".parse().unwrap()));
        let host6 = Net::from("2001:db8::1".parse::<IpAddr>().unwrap());
        assert!(host6.contains(&"2001:db8::1".parse().unwrap()));
        assert!(!host6.contains(&"2001:db8::2".parse().unwrap()));
    }

    #[test]
    fn due_exactly_when_tries_exceed_threshold() {
        let t = table_with(&[("203.0.113.1", 5), ("203.0.113.2", 6), ("203.0.113.3", 9)]);
        let p = Policy {
            threshold: 5,
            ignore: default_ignores(),
            active_since: None,
        };
        let due = decide(&t, &p, |_| false);
        let due: Vec<String> = due.iter().map(|i| i.to_string()).collect();
        assert_eq!(
            due,
            ["203.0.113.3", "203.0.113.2"],
            "the 6th try makes it due"
        );
    }

    #[test]
    fn with_a_window_only_recent_attackers_are_due() {
        let mut t = table_with(&[("203.0.113.1", 9), ("203.0.113.2", 9)]);
        t.get_mut(&"203.0.113.2".parse().unwrap()).unwrap().last = 100_000;
        let mut p = Policy {
            threshold: 5,
            ignore: default_ignores(),
            active_since: Some(100_000 - ACTIVE_WINDOW),
        };
        assert_eq!(
            decide(&t, &p, |_| false),
            vec!["203.0.113.2".parse::<IpAddr>().unwrap()],
            "the attacker last seen more than a day before is not due"
        );
        p.active_since = None;
        assert_eq!(decide(&t, &p, |_| false).len(), 2);
    }

    #[test]
    fn announced_queued_and_ignored_are_not_due() {
        let mut t = table_with(&[
            ("203.0.113.1", 9),
            ("203.0.113.2", 9),
            ("127.0.0.1", 9),
            ("198.51.100.4", 9),
            ("192.168.1.20", 9),
            ("198.18.0.7", 9),
            ("192.0.2.9", 9),
        ]);
        t.get_mut(&"203.0.113.1".parse().unwrap())
            .unwrap()
            .announced = Some(5);
        let mut ignore = default_ignores();
        ignore.push("198.51.100.0/24".parse().unwrap());
        let p = Policy {
            threshold: 5,
            ignore,
            active_since: None,
        };
        let due = decide(&t, &p, |ip| ip.to_string() == "203.0.113.2");
        assert_eq!(
            due,
            vec!["192.0.2.9".parse::<IpAddr>().unwrap()],
            "loopback, the LAN and benchmarking are counted, never announced"
        );
        assert_eq!(
            t.get_mut(&"192.168.1.20".parse().unwrap()).unwrap().tries(),
            9
        );
    }

    #[test]
    fn internal_networks_are_never_due() {
        let mut t = table_with(&[
            ("fe80::1", 9),
            ("fd00::5", 9),
            ("ff02::1", 9),
            ("::1", 9),
            ("2001:db8:1:2::5", 9),
            ("10.0.0.1", 9),
            ("255.255.255.255", 9),
            ("0.0.0.0", 9),
            ("224.0.0.1", 9),
            ("100.64.0.1", 9),
            ("169.254.1.1", 9),
        ]);
        let p = Policy {
            threshold: 5,
            ignore: vec![],
            active_since: None,
        };
        let due = decide(&t, &p, |_| false);
        assert_eq!(due, ["2001:db8:1:2::".parse::<IpAddr>().unwrap()]);
        assert_eq!(t.all().len(), 11, "every one is counted");
    }

    #[test]
    fn an_ignored_address_hides_the_network_counted_with_it() {
        let t = table_with(&[
            ("2001:db8:1:2::5", 9),
            ("2001:db8:1:3::5", 9),
            ("2001:db8:1:4::5", 9),
        ]);
        let mut ignore = default_ignores();
        ignore.push("2001:db8:1:2::77".parse().unwrap());
        ignore.push("2001:db8:1:4::/63".parse().unwrap());
        let p = Policy {
            threshold: 5,
            ignore,
            active_since: None,
        };
        let due = decide(&t, &p, |_| false);
        assert_eq!(due, ["2001:db8:1:3::".parse::<IpAddr>().unwrap()]);
    }
}
