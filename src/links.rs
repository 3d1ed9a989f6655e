//! Addresses for sshd lines that name none, or name it ambiguously
//! (`Disconnecting: Too many authentication failures`, a certificate whose
//! key ID fakes a second address): the address that the other lines of their
//! connection name, the connection being the same host and pid.
//!
//! A line may come before the line that names its address (a valid user's
//! first failed keys are logged at VERBOSE only), so it waits for it, for as
//! long as a connection stays open. One that is never named is dropped:
//! rather nobody than the wrong address.

use std::net::IpAddr;

use crate::clock::Secs;
use crate::hash::Map;
use crate::parse::Kind;

/// A connection: FNV-1a of the syslog host, and the pid.
pub type Link = (u64, u32);

/// Lines kept waiting per connection, and connections with waiting lines:
/// past these, a hostile log's lines are dropped instead of held.
const MAX_WAITING: usize = 64;
const MAX_WAITING_CONNS: usize = 50_000;
/// Connections remembered before the idle ones are forgotten.
const MAX_SEEN: usize = 200_000;

/// A line that waits for its connection's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub kind: Kind,
    pub count: u32,
    pub user: Option<Vec<u8>>,
    pub t: Secs,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// The address each open connection named last, and when.
    seen: Map<Link, (IpAddr, Secs)>,
    waiting: Map<Link, Vec<Waiting>>,
    /// The last connection `saw` was told of: lines of one connection come
    /// in runs, and a run costs one map update.
    last: Option<(Link, IpAddr)>,
    /// Off until the first line without an address: most logs have none, and
    /// then no line pays for remembering its connection.
    on: bool,
}

impl Links {
    /// Whether lines with an address must be told to `saw`.
    pub fn on(&self) -> bool {
        self.on
    }

    /// From now on, remembers connections; `open` are those open already.
    pub fn turn_on(&mut self, open: impl Iterator<Item = (Link, IpAddr, Secs)>) {
        if !self.on {
            self.on = true;
            for (link, ip, t) in open {
                self.seen.insert(link, (ip, t));
            }
        }
    }

    /// A line of `link` named `ip` at `t`. Returns the lines that waited for it.
    pub fn saw(&mut self, link: Link, ip: IpAddr, t: Secs) -> Vec<Waiting> {
        if self.last != Some((link, ip)) {
            self.last = Some((link, ip));
            self.seen.insert(link, (ip, t));
        } else if let Some(s) = self.seen.get_mut(&link) {
            s.1 = s.1.max(t);
        }
        match self.waiting.is_empty() {
            true => Vec::new(),
            false => self.waiting.remove(&link).unwrap_or_default(),
        }
    }

    /// The address `link` named within `idle` seconds of `t`.
    pub fn address(&self, link: Link, t: Secs, idle: Secs) -> Option<IpAddr> {
        let &(ip, seen) = self.seen.get(&link)?;
        ((t - seen).abs() <= idle).then_some(ip)
    }

    /// Keeps a line until its connection names its address.
    pub fn wait(&mut self, link: Link, line: Waiting) {
        if self.waiting.len() >= MAX_WAITING_CONNS && !self.waiting.contains_key(&link) {
            return;
        }
        let w = self.waiting.entry(link).or_default();
        if w.len() < MAX_WAITING {
            w.push(line);
        }
    }

    /// Forgets connections idle since before `cutoff`, and lines that waited
    /// since then in vain.
    pub fn expire(&mut self, cutoff: Secs) {
        self.seen.retain(|_, (_, t)| *t >= cutoff);
        self.waiting.retain(|_, w| {
            w.retain(|l| l.t >= cutoff);
            !w.is_empty()
        });
        self.last = None;
    }

    /// Expires when more connections are remembered than a table keeps
    /// open: amortised, a full pass at most once per so many new ones.
    pub fn bound(&mut self, cutoff: Secs) {
        if self.seen.len() > MAX_SEEN || self.waiting.len() >= MAX_WAITING_CONNS {
            self.expire(cutoff);
            // All open at once: a hostile log. Its lines wait, and lapse.
            if self.seen.len() > MAX_SEEN / 2 {
                self.seen.clear();
            }
            if self.waiting.len() > MAX_WAITING_CONNS / 2 {
                self.waiting.clear();
            }
        }
    }

    /// Lines still waiting.
    pub fn waiting(&self) -> usize {
        self.waiting.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty() && self.waiting.is_empty()
    }

    #[cfg(test)]
    fn turned_on() -> Links {
        Links {
            on: true,
            ..Links::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(t: Secs) -> Waiting {
        Waiting {
            kind: Kind::Failed,
            count: 1,
            user: None,
            t,
        }
    }

    #[test]
    fn an_address_is_named_before_or_after() {
        let ip: IpAddr = "203.0.113.5".parse().unwrap();
        let mut l = Links::turned_on();
        assert_eq!(l.address((1, 10), 100, 300), None);
        assert!(l.saw((1, 10), ip, 100).is_empty());
        assert_eq!(l.address((1, 10), 150, 300), Some(ip));
        assert_eq!(l.address((1, 11), 150, 300), None, "another pid");
        assert_eq!(l.address((2, 10), 150, 300), None, "another host");
        assert_eq!(l.address((1, 10), 401, 300), None, "closed since");
        l.wait((1, 20), line(100));
        l.wait((1, 20), line(101));
        assert_eq!(l.waiting(), 2);
        assert!(l.saw((1, 21), ip, 102).is_empty());
        assert_eq!(l.saw((1, 20), ip, 103), vec![line(100), line(101)]);
        assert_eq!(l.waiting(), 0);
    }

    /// Through `Table::record`, as a log is read.
    #[test]
    fn the_table_counts_them_on_their_connections_address() {
        use crate::parse::parse;
        use crate::table::Table;
        let ambiguous = |pid: u32| {
            format!(
                "Nov 26 00:00:01 web01 sshd[{pid}]: Failed publickey for root from 203.0.113.5 port 22 ssh2: RSA-CERT SHA256:a ID x from 10.10.1.2 port 5 ssh2: RSA-CERT SHA256:c ID y (serial 1) CA RSA SHA256:b"
            )
        };
        let lines = [
            // Before any line that names the address: they wait.
            ambiguous(7),
            ambiguous(7),
            "Nov 26 00:00:02 web01 sshd[7]: Failed password for root from 203.0.113.5 port 22 ssh2".into(),
            // After it: named at once.
            "Nov 26 00:00:03 web01 sshd[7]: Disconnecting: Too many authentication failures for admin [preauth]".into(),
            // Never named, or another host's pid 7: nobody.
            ambiguous(8),
            "Nov 26 00:00:03 web02 sshd[7]: Disconnecting: Too many authentication failures for x [preauth]".into(),
        ];
        let mut t = Table::default();
        for (i, l) in lines.iter().enumerate() {
            let ev = parse(l.as_bytes()).unwrap();
            t.record(&ev, 100 + i as Secs);
        }
        let all = t.all();
        assert_eq!(all.len(), 1, "{:?}", all.keys());
        let a = &all[&"203.0.113.5".parse().unwrap()];
        assert_eq!(a.tries(), 3, "two waiting guesses and one named");
        assert_eq!(a.users, ["root", "admin"]);
    }

    #[test]
    fn waiting_lines_expire_and_are_bounded() {
        let mut l = Links::turned_on();
        for i in 0..100 {
            l.wait((1, 1), line(i));
        }
        assert_eq!(l.waiting(), MAX_WAITING);
        l.expire(50);
        assert_eq!(l.waiting(), 14);
        l.expire(1000);
        assert!(l.is_empty());
    }
}
