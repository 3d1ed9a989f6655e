//! The attacker table: per address, tries, user names, services and times,
//! plus the few sshd connections still open, so a guess is counted once
//! even when its lines are split across two runs. No clock: the time comes
//! with each event. Not pure: its file I/O is all in `store`, which saves
//! it (`store::save`), and, for a table loaded from a state file, reads its
//! stored attackers from that file when one is asked for (`get`, `get_mut`,
//! `record`) or all are (`for_each_standing`, `ranked`). A read that fails
//! is kept as the table's fault (`fault`, checked by `state::check` and
//! before every save), not returned.
//!
//! A try is one guess. Per sshd connection (one pid, one source address,
//! idle for less than `CONN_IDLE`), tries = max(F, P, E, 1): F counts
//! `Failed …` lines, P pam_unix failures, E sshd's `error: PAM:` lines, and
//! the 1 stands for any other attack line. A keyboard-interactive round
//! writes its pam_unix line from a PAM child's pid: `children` pairs it
//! with its connection's lines, so it counts once. vsftpd writes the same guess to
//! its own log (FAIL LOGIN) and through PAM to auth.log, so its tries are
//! max(FAIL LOGIN lines, pam_unix failures) per address.
//!
//! A table loaded from the state file holds in memory only the attackers a
//! run touched since its last save; the others stay in the file, read one
//! block at a time when an address comes up. How they are written, found
//! and forgotten is `store`'s business.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::VecDeque;
use std::collections::hash_map::Entry;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::clock::Secs;
use crate::hash::Map;
use crate::hash::fnv1a;
use crate::links::{Links, Waiting};
use crate::parse::{Event, Kind, Service, Slot};
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

/// Most connections held open: past this the oldest is closed early. sshd
/// lets at most 100 unauthenticated connections wait (MaxStartups), so this
/// is a fleet of 2,000 servers at once, or a hostile log.
const MAX_OPEN_CONNS: usize = 200_000;

/// IPv6 attackers are counted per network of this many bits by default: a
/// /64 is what one host or home is given, and a bot can take any address in
/// it for each connection (sshguard's IPV6_SUBNET does the same).
pub const DEFAULT_IPV6_PREFIX: u8 = 64;

/// Attackers kept by default: a central collector's month is about a million.
pub const DEFAULT_MAX_ATTACKERS: usize = 2_000_000;

/// How addresses are counted and how many attackers are kept (the run's options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// IPv6 addresses are counted per network of this prefix length; 128 counts each alone.
    pub ipv6_prefix: u8,
    /// Most attackers kept; past it the least recently seen are forgotten.
    pub max_attackers: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            ipv6_prefix: DEFAULT_IPV6_PREFIX,
            max_attackers: DEFAULT_MAX_ATTACKERS,
        }
    }
}

impl Rules {
    /// The prefix length `ip` is counted under: its network's for IPv6
    /// (IPv4-mapped addresses are IPv4), the whole address otherwise.
    pub fn prefix_of(&self, ip: &IpAddr) -> u8 {
        match ip {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => self.ipv6_prefix.min(128),
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        }
    }

    /// The address an attack from `ip` is counted under: its network's
    /// first address, and the prefix length when that is not `ip` alone.
    pub fn group(&self, ip: IpAddr) -> (IpAddr, Option<u8>) {
        match (ip, self.prefix_of(&ip)) {
            (IpAddr::V6(v6), p) if p < 128 => {
                let mask = u128::MAX.checked_shl(128 - u32::from(p)).unwrap_or(0);
                (IpAddr::V6((u128::from(v6) & mask).into()), Some(p))
            }
            _ => (ip, None),
        }
    }
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

/// One attacking address. In the state file it is a JSON array, in the
/// order of the fields below, the last four left out while they hold their
/// defaults (see `store`'s `Attacker::serialize`): 100,000 of them stay small, and
/// most are copied through a run without being parsed. The field names are
/// those of format version 1, which wrote an object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Attacker {
    /// sshd tries: the sum over its connections of max(F, P, E, 1).
    #[serde(rename = "ssh", default)]
    pub ssh_tries: u64,
    #[serde(rename = "s")]
    pub services: Services,
    #[serde(rename = "f")]
    pub first: Secs,
    #[serde(rename = "l")]
    pub last: Secs,
    /// Distinct user names, in the order first tried, at most `MAX_USERS`.
    #[serde(rename = "u", default)]
    pub users: Vec<String>,
    /// Which of our servers it hit (syslog host names, from central syslog),
    /// at most `MAX_HOSTS`.
    #[serde(rename = "h", default)]
    pub hosts: Vec<String>,
    /// vsftpd FAIL LOGIN lines.
    #[serde(rename = "ftf", default)]
    pub ftp_fail: u64,
    /// vsftpd pam_unix failures.
    #[serde(rename = "ftp", default)]
    pub ftp_pam: u64,
    /// When it was announced, once it was.
    #[serde(rename = "a", default)]
    pub announced: Option<Secs>,
    /// Lines naming some other user once `users` was full.
    #[serde(rename = "um", default)]
    pub users_more: u32,
    /// For a network counted as one attacker (its address is the network's
    /// first): the prefix length, and the first address seen in it.
    #[serde(rename = "n", default)]
    pub net: Option<(u8, IpAddr)>,
    /// The last overflow name seen, so the lines of one guess count once in `users_more`.
    #[serde(skip)]
    last_other: u64,
}

impl Attacker {
    /// How people read the attacker at `ip` (its key): `203.0.113.5`, or
    /// `2001:db8:1:2::/64` for a network counted as one, so it never looks like one host.
    pub fn source(&self, ip: IpAddr) -> String {
        match self.net {
            Some((prefix, _)) => format!("{ip}/{prefix}"),
            None => ip.to_string(),
        }
    }

    pub fn tries(&self) -> u64 {
        Self::tries_of(self.ssh_tries, self.ftp_fail, self.ftp_pam)
    }

    /// sshd's tries plus vsftpd's: the same guess is in both of its logs.
    fn tries_of(ssh: u64, ftp_fail: u64, ftp_pam: u64) -> u64 {
        ssh + ftp_fail.max(ftp_pam)
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

/// Every attacker, plus the open sshd connections.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Attackers added or touched since the state was last saved.
    attackers: Map<IpAddr, Attacker>,
    /// The others, in the state file; those of `attackers` there too are superseded.
    stored: store::Store,
    /// Of `attackers`, those read from `stored`, with the bytes their old record takes.
    taken: Map<IpAddr, u64>,
    conns: Map<ConnKey, Conn>,
    /// Possible PAM children of those connections (see `children`).
    children: children::Children,
    /// Every open connection once, in the order they were opened, with the
    /// time of their line then: a log is read in time order, so this is
    /// oldest first, and closing costs what was opened, not a scan of all
    /// that are open. An entry whose connection has a newer line by the time
    /// it comes up goes to the back with that time.
    expiry: VecDeque<(Secs, ConnKey)>,
    /// Addresses for the lines that name none.
    links: Links,
    /// Newest time of a line merged (an event's, or the last line's of a
    /// read, whatever program wrote it): the log's own clock, which closes connections.
    latest: Secs,
    rules: Rules,
}

/// Equal when they hold the same attackers, in memory or in the file.
impl PartialEq for Table {
    fn eq(&self, other: &Table) -> bool {
        (&self.conns, self.latest) == (&other.conns, other.latest)
            && self.snapshot() == other.snapshot()
    }
}

impl Eq for Table {}

/// One attacker's standing, enough to decide whether it is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub ip: IpAddr,
    pub tries: u64,
    pub announced: bool,
    /// The last try, for attackers read in full (those this run touched).
    pub last: Option<Secs>,
}

impl Table {
    /// How many attackers it holds: the stored ones are counted by reading them all.
    pub fn len(&self) -> usize {
        let mut n = self.attackers.len();
        self.stored
            .scan(|ip| self.attackers.contains_key(ip), |_, _, _, _| n += 1);
        n
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// At least `len`, without reading the stored attackers: those idle
    /// past the retention count until the file is next compacted.
    fn len_upper(&self) -> usize {
        self.stored.count_upper() as usize + self.fresh()
    }

    /// Attackers in memory that the store does not hold.
    fn fresh(&self) -> usize {
        // Not a difference of lengths: some of `taken` may have been forgotten since.
        self.attackers
            .keys()
            .filter(|ip| !self.taken.contains_key(ip))
            .count()
    }

    /// Every attacker, in memory or stored, read in full: for tests and comparisons.
    fn snapshot(&self) -> std::collections::BTreeMap<IpAddr, Attacker> {
        let mut all: std::collections::BTreeMap<_, _> = self
            .attackers
            .iter()
            .map(|(ip, a)| (*ip, a.clone()))
            .collect();
        self.stored.scan(
            |ip| self.attackers.contains_key(ip),
            |ip, _, loc, _| {
                if let Some((_, a)) = self.stored.read_record(loc) {
                    all.insert(ip, a);
                }
            },
        );
        all
    }

    /// The first stored attacker that could not be read: the state file is
    /// corrupt, and must not be saved over.
    pub fn fault(&self) -> Option<String> {
        self.stored.fault()
    }

    pub fn rules(&self) -> Rules {
        self.rules
    }

    /// Sets the rules for what is merged from now on: attackers counted
    /// under other rules before stay as they are.
    pub fn set_rules(&mut self, rules: Rules) {
        self.rules = rules;
    }

    /// Reads a stored attacker into `attackers`; false if there is none.
    fn take_stored(&mut self, ip: &IpAddr) -> bool {
        let Some((a, bytes)) = self.stored.find(ip) else {
            return false;
        };
        self.attackers.insert(*ip, a);
        self.taken.insert(*ip, bytes);
        true
    }

    /// One attacker, to read: from memory, or from its stored block (a
    /// file read), without marking it changed, so the next save does not
    /// write it again.
    pub fn get(&self, ip: &IpAddr) -> Option<Cow<'_, Attacker>> {
        match self.attackers.get(ip) {
            Some(a) => Some(Cow::Borrowed(a)),
            None => self.stored.find(ip).map(|(a, _)| Cow::Owned(a)),
        }
    }

    /// The attacker at `ip` if this run touched it (it is in memory), to read.
    pub fn touched(&self, ip: &IpAddr) -> Option<&Attacker> {
        self.attackers.get(ip)
    }

    /// One attacker, to change: read into memory if it is stored (a file
    /// read), and marked changed, so the next save writes it again.
    pub fn get_mut(&mut self, ip: &IpAddr) -> Option<&mut Attacker> {
        if !self.attackers.contains_key(ip) && !self.take_stored(ip) {
            return None;
        }
        self.attackers.get_mut(ip)
    }

    /// Every attacker, each read into memory: for tests and small tables.
    pub fn all(&mut self) -> &Map<IpAddr, Attacker> {
        let mut more = Vec::new();
        self.stored.scan(
            |ip| self.attackers.contains_key(ip),
            |ip, _, loc, _| more.push((ip, loc)),
        );
        for (ip, loc) in more {
            if let Some((_, a)) = self.stored.read_record(loc) {
                self.taken.insert(ip, 0);
                self.attackers.insert(ip, a);
            }
        }
        &self.attackers
    }

    /// The standings of the attackers this run touched (the others were
    /// last seen in an earlier run).
    pub fn touched_standings(&self) -> impl Iterator<Item = Standing> + '_ {
        self.attackers.iter().map(|(ip, a)| Standing {
            ip: *ip,
            tries: a.tries(),
            announced: a.announced.is_some(),
            last: Some(a.last),
        })
    }

    /// Hands `f` every attacker's standing, reading the stored ones' heads.
    pub fn for_each_standing(&self, mut f: impl FnMut(Standing)) {
        self.touched_standings().for_each(&mut f);
        self.stored.scan(
            |ip| self.attackers.contains_key(ip),
            |ip, head, _, _| {
                f(Standing {
                    ip,
                    tries: head.tries(),
                    announced: head.announced(),
                    last: None,
                })
            },
        );
    }

    /// Merges one failed-login event that happened at `t`.
    pub fn record(&mut self, ev: &Event, t: Secs) {
        let Some(addr) = ev.ip.or_else(|| self.connection_address(ev, t)) else {
            return;
        };
        self.record_at(ev, addr, t);
        if self.links.on() && ev.service == Service::Sshd && ev.pid.is_some() {
            self.tell_links(ev, addr, t);
        }
    }

    /// `record`, with the event's address known. Inlined: it is the hot loop
    /// of every read, and a call here costs the map lookups their inlining.
    /// Longer than the house's 80 lines on purpose: it holds the attacker
    /// and its connection borrowed at once (`a`, `c`) while the PAM children
    /// are asked, which a split into methods on `self` could not borrow.
    #[inline(always)]
    fn record_at(&mut self, ev: &Event, addr: IpAddr, t: Secs) {
        self.latest = self.latest.max(t);
        // Counted under its network (IPv6); connections keep the address itself.
        let (ip, net) = self.rules.group(addr);
        if !self.stored.is_empty() && !self.attackers.contains_key(&ip) {
            self.take_stored(&ip);
        }
        let a = self.attackers.entry(ip).or_insert_with(|| Attacker {
            first: t,
            last: t,
            net: net.map(|p| (p, addr)),
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
                    ip: addr,
                };
                let c = match self.conns.entry(key) {
                    Entry::Occupied(c) => c.into_mut(),
                    Entry::Vacant(c) => {
                        self.expiry.push_back((t, key));
                        c.insert(Conn::default())
                    }
                };
                if c.n > 0 && (t - c.t).abs() > CONN_IDLE {
                    *c = Conn::default();
                }
                let fresh = c.n == 0;
                // Counted 1 for a line that was no guess (`Invalid user`), nothing else yet.
                let floor_only = c.n == 1 && c.f == 0 && c.p == 0 && c.e == 0;
                match slot {
                    Slot::F => c.f = c.f.saturating_add(ev.count),
                    Slot::P => c.p = c.p.saturating_add(ev.count),
                    Slot::E => c.e = c.e.saturating_add(ev.count),
                    Slot::Any => {}
                }
                let user = ev.user.map(fnv1a).unwrap_or(0);
                if fresh && ev.kind == Kind::PamAuthFailure {
                    self.children.born(key, user, t);
                } else if !fresh && self.children.grew_up(key) {
                    a.ssh_tries += 1;
                }
                // A monitor's keyboard-interactive round, counted at its PAM child.
                let round = slot == Slot::E
                    || (slot == Slot::F
                        && ev
                            .method
                            .is_some_and(|m| m.starts_with(b"keyboard-interactive")));
                let claims = c.p == 0 && (round || slot == Slot::Any);
                let n = c.f.max(c.p).max(c.e).max(1);
                if n > c.n {
                    let mut add = n - c.n;
                    while claims && add > 0 && self.children.claim(key, user, t) {
                        add -= 1;
                    }
                    a.ssh_tries += add as u64;
                    c.n = n;
                } else if floor_only && round && self.children.claim(key, user, t) {
                    // The 1 counted for the floor was this round's guess, counted at the child.
                    a.ssh_tries = a.ssh_tries.saturating_sub(1);
                }
                c.t = c.t.max(t);
                if self.conns.len() > CONN_SWEEP_AT {
                    self.close_conns_before(self.latest - CONN_IDLE, MAX_OPEN_CONNS);
                }
            }
        }
    }

    /// Remembers the connection's address, and records the lines that waited for it.
    #[inline(never)]
    fn tell_links(&mut self, ev: &Event, ip: IpAddr, t: Secs) {
        self.links.bound(self.latest - CONN_IDLE);
        let link = (ev.host.map(fnv1a).unwrap_or(0), ev.pid.unwrap_or(0));
        for w in self.links.saw(link, ip, t) {
            let named = Event {
                kind: w.kind,
                ip: Some(ip),
                user: w.user.as_deref(),
                count: w.count,
                ..ev.clone()
            };
            self.record_at(&named, ip, w.t);
        }
    }

    /// For an sshd line that names no address, its connection's (see
    /// `links`); `None` while that is not known yet.
    #[cold]
    #[inline(never)]
    fn connection_address(&mut self, ev: &Event, t: Secs) -> Option<IpAddr> {
        let link = (ev.host.map(fnv1a).unwrap_or(0), ev.pid?);
        // The connections open now, read earlier or left open by a saved state.
        let open = self.conns.iter().map(|(k, c)| ((k.host, k.pid), k.ip, c.t));
        self.links.turn_on(open);
        let ip = self.links.address(link, t, CONN_IDLE);
        if ip.is_none() {
            self.links.wait(
                link,
                Waiting {
                    kind: ev.kind,
                    count: ev.count,
                    user: ev.user.map(<[u8]>::to_vec),
                    t,
                },
            );
        }
        ip
    }

    /// The log has a line of time `t`, of whatever program: its clock is at
    /// least there (see `close_conns`).
    pub fn saw(&mut self, t: Secs) {
        self.latest = self.latest.max(t);
    }

    /// Forgets the connections idle for `CONN_IDLE` by the log's clock (the
    /// newest line read, ever), not the wall clock's: a run that read nothing,
    /// or a clock ahead of the log, must not end a guess half read.
    pub fn close_conns(&mut self) {
        self.close_conns_before(self.latest - CONN_IDLE, MAX_OPEN_CONNS);
        self.links.expire(self.latest - CONN_IDLE);
    }

    /// Forgets connections idle since before `cutoff`, and the first queued
    /// while more than `at_most` are open: their tries are counted already.
    /// An entry put back has a newer line than those ahead of it, so it may
    /// wait up to `CONN_IDLE` longer than it needs: memory, never counts.
    fn close_conns_before(&mut self, cutoff: Secs, at_most: usize) {
        while let Some(&(queued, key)) = self.expiry.front() {
            if queued >= cutoff && self.conns.len() <= at_most {
                break;
            }
            self.expiry.pop_front();
            match self.conns.get(&key) {
                Some(c) if c.t > queued && c.t >= cutoff => self.expiry.push_back((c.t, key)),
                Some(_) => {
                    self.conns.remove(&key);
                }
                None => {}
            }
        }
        self.children.sweep(cutoff);
    }

    /// Open connections.
    pub fn open_conns(&self) -> usize {
        self.conns.len()
    }

    /// Drops attackers idle since before `cutoff`, except those in `keep`.
    pub fn forget_idle(&mut self, cutoff: Secs, keep: &[IpAddr]) {
        // A set: the outbox may hold as many addresses as the table.
        let keep_set: crate::hash::Set<&IpAddr> = keep.iter().collect();
        self.attackers
            .retain(|ip, a| a.last >= cutoff || keep_set.contains(ip));
        self.stored.forget_before(cutoff, keep);
    }

    /// Forgets the least recently seen attackers while there are more than
    /// `Rules::max_attackers`, except those in `keep`; how many.
    pub fn bound(&mut self, keep: &[IpAddr]) -> usize {
        let max = self.rules.max_attackers;
        if self.len_upper() <= max {
            return 0;
        }
        // Least recent first, ties by address: the `excess`th of these and
        // all before it go. Found from the times alone (8 bytes an attacker),
        // then from the addresses of those tied at the last time that goes.
        let mut kept: Vec<_> = keep.iter().map(ip_order).collect();
        kept.sort_unstable();
        let is_kept = |key: &Key| kept.binary_search(key).is_ok();
        let each = |f: &mut dyn FnMut(Secs, (bool, u128))| {
            for (ip, a) in &self.attackers {
                f(a.last, ip_order(ip));
            }
            self.stored.scan(
                |ip| self.attackers.contains_key(ip),
                |ip, head, _, _| f(head.last(), ip_order(&ip)),
            );
        };
        let mut total = 0usize;
        let mut lasts: Vec<Secs> = Vec::new();
        each(&mut |last, key| {
            total += 1;
            if !is_kept(&key) {
                lasts.push(last);
            }
        });
        let excess = total.saturating_sub(max);
        if excess == 0 || lasts.is_empty() {
            return 0;
        }
        let going = excess.min(lasts.len());
        let t = *lasts.select_nth_unstable(going - 1).1;
        let before_t = lasts.iter().filter(|&&l| l < t).count();
        drop(lasts);
        let mut ties: Vec<(bool, u128)> = Vec::new();
        each(&mut |last, key| {
            if last == t && !is_kept(&key) {
                ties.push(key);
            }
        });
        let last_to_go = (t, *ties.select_nth_unstable(going - before_t - 1).1);
        let goes =
            |ip: &IpAddr, last: Secs| (last, ip_order(ip)) <= last_to_go && !is_kept(&ip_order(ip));
        self.attackers.retain(|ip, a| !goes(ip, a.last));
        self.stored.cut(last_to_go, keep);
        going
    }

    /// Hands `f` every attacker, most tries first (ties by address, as
    /// `ranked`), reading the stored ones one at a time: a listing of a
    /// million attackers holds 28 bytes per attacker, not every attacker
    /// read in full at once.
    pub fn try_for_each_ranked<E>(
        &self,
        mut f: impl FnMut(IpAddr, &Attacker) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut touched: Vec<_> = self
            .attackers
            .iter()
            .map(|(ip, a)| (ip_order(ip), ip, a))
            .collect();
        touched.sort_unstable_by_key(|&(key, _, _)| key);
        // Numbered in address order, stored and touched together: sorting
        // by (tries, number) is then sorting by (tries, address).
        const TOUCHED: u64 = 1 << 63;
        let mut order: Vec<(Reverse<u64>, u32)> = Vec::new();
        let mut places: Vec<(u64, u32)> = Vec::new();
        // The touched ones below `key` (all that are left, for `None`), in turn.
        let mut next = 0;
        let mut touched_below = |order: &mut Vec<_>, places: &mut Vec<_>, key: Option<Key>| {
            while let Some(&(k, _, a)) = touched.get(next)
                && key.is_none_or(|key| k < key)
            {
                order.push((Reverse(a.tries()), order.len() as u32));
                places.push((TOUCHED | next as u64, 0));
                next += 1;
            }
        };
        self.stored.scan(
            |ip| self.attackers.contains_key(ip),
            |ip, head, loc, _| {
                touched_below(&mut order, &mut places, Some(ip_order(&ip)));
                order.push((Reverse(head.tries()), order.len() as u32));
                places.push((loc.at, loc.len));
            },
        );
        touched_below(&mut order, &mut places, None);
        order.sort_unstable();
        for (_, n) in order {
            let (at, len) = places[n as usize];
            if at & TOUCHED != 0 {
                let (_, ip, a) = touched[(at & !TOUCHED) as usize];
                f(*ip, a)?;
            } else if let Some((ip, a)) = self.stored.read_record(store::Loc { at, len }) {
                f(ip, &a)?;
            }
        }
        Ok(())
    }

    /// Attackers, most tries first (ties by address, so output is stable).
    pub fn ranked(&mut self) -> Vec<(&IpAddr, &Attacker)> {
        // Sorted on keys held by value: comparing through the references
        // would chase pointers all over the map, a cache miss per comparison.
        let mut v: Vec<_> = self
            .all()
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

mod children;
mod head;
mod store;

use store::Key;

pub use store::{Headed, Opened, PREFIX, SameHead, SaveError, Wrote, open as open_stored, save};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    pub(super) fn feed(table: &mut Table, lines: &[(&str, Secs)]) {
        for (line, t) in lines {
            let ev = parse(line.as_bytes()).unwrap_or_else(|| panic!("not parsed: {line}"));
            table.record(&ev, *t);
        }
    }

    pub(super) fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// One sshd connection: three guesses (F = 3, P = 1 + 2); the end-to-end
    /// tests read the same file.
    pub(super) static CONN: std::sync::LazyLock<Vec<&str>> = std::sync::LazyLock::new(|| {
        include_str!("../../tests/fixtures/one-connection.log")
            .lines()
            .collect()
    });

    /// `CONN`, a second apart from 100 on.
    fn conn_lines() -> Vec<(&'static str, Secs)> {
        CONN.iter()
            .enumerate()
            .map(|(i, l)| (*l, 100 + i as Secs))
            .collect()
    }

    #[test]
    fn one_connection_counts_guesses_not_lines() {
        let mut t = Table::default();
        let lines = conn_lines();
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
        let lines = conn_lines();
        feed(&mut t, &lines[..3]);
        // The state is saved and loaded between the two halves.
        let mut t = store::tests::reloaded(&t);
        feed(&mut t, &lines[3..]);
        assert_eq!(t.attackers[&ip("203.0.113.5")].tries(), 3);
    }

    #[test]
    fn reused_pid_after_idle_is_a_new_connection() {
        let mut t = Table::default();
        feed(&mut t, &[(CONN[2], 100), (CONN[3], 100 + CONN_IDLE + 1)]);
        assert_eq!(t.attackers[&ip("203.0.113.5")].tries(), 2);
        t.close_conns_before(100 + 2 * CONN_IDLE + 2, usize::MAX);
        assert!(t.conns.is_empty());
    }

    #[test]
    fn connections_close_by_the_logs_clock_not_the_wall_clock() {
        let mut t = Table::default();
        let lines = conn_lines();
        feed(&mut t, &lines[..3]);
        // A run that read nothing more, however late: the guess stays open.
        t.close_conns();
        assert_eq!(t.open_conns(), 1);
        feed(&mut t, &lines[3..]);
        assert_eq!(t.attackers[&ip("203.0.113.5")].tries(), 3);
        // Once the log itself has moved on, it is closed.
        let later = CONN[2].replace("[3504]", "[9]");
        feed(&mut t, &[(&later, 106 + CONN_IDLE)]);
        t.close_conns();
        assert_eq!(t.open_conns(), 2, "idle for exactly CONN_IDLE: still open");
        feed(&mut t, &[(&later, 107 + 2 * CONN_IDLE)]);
        t.close_conns();
        let open: Vec<u32> = t.conns.keys().map(|k| k.pid).collect();
        assert_eq!(open, [9]);
    }

    /// `n` connections, each one line from its own pid, at `t`.
    fn many_conns(t: &mut Table, first_pid: usize, n: usize, at: Secs) {
        for pid in first_pid..first_pid + n {
            let line = format!(
                "Nov 26 00:00:02 web01 sshd[{pid}]: Failed password for root from 203.0.113.5 port 1 ssh2"
            );
            feed(t, &[(&line, at)]);
        }
    }

    #[test]
    fn a_long_read_closes_the_oldest_connections_first() {
        let mut t = Table::default();
        // One connection that goes on late, then many that end early.
        let busy = CONN[0].replace("[3504]", "[1]");
        feed(&mut t, &[(&busy, 0)]);
        many_conns(&mut t, 10, CONN_SWEEP_AT - 1, 0);
        feed(
            &mut t,
            &[(&busy, 250), (&busy, 500), (&busy, 750), (&busy, 900)],
        );
        assert_eq!(t.open_conns(), CONN_SWEEP_AT);
        // Past the sweep's mark, the early ones close; the busy one, queued
        // at 0 but seen at 900, is put back, not closed.
        many_conns(&mut t, 100_000, 1, 1000);
        assert_eq!(t.open_conns(), 2);
        feed(&mut t, &[(&busy, 1001)]);
        let a = &t.attackers[&ip("203.0.113.5")];
        assert_eq!(
            a.tries(),
            CONN_SWEEP_AT as u64 + 1,
            "the busy one counted once"
        );
        assert!(t.conns.keys().any(|k| k.pid == 1));
        assert_eq!(t.expiry.len(), 2, "one queue entry per open connection");
        // Too many open at once: the first queued go first, whatever the
        // time; the busy one was queued again at the sweep, so it stays.
        many_conns(&mut t, 200_000, 5, 1002);
        t.close_conns_before(0, 3);
        let mut open: Vec<u32> = t.conns.keys().map(|k| k.pid).collect();
        open.sort();
        assert_eq!(open, [1, 200_003, 200_004]);
    }

    #[test]
    fn ipv6_counts_per_network_and_names_an_address_seen() {
        let mut t = Table::default();
        let from = |a: &str, pid: u32| {
            CONN[2]
                .replace("203.0.113.5", a)
                .replace("[3504]", &format!("[{pid}]"))
        };
        let rotating: Vec<String> = (1..=4)
            .map(|i| from(&format!("2001:db8:1:2:{i}::{i}"), i))
            .collect();
        for line in &rotating {
            feed(&mut t, &[(line, 10)]);
        }
        feed(&mut t, &[(&from("2001:db8:1:3::1", 9), 10)]);
        feed(&mut t, &[(&from("::ffff:198.51.100.9", 9), 10)]);
        let a = &t.attackers[&ip("2001:db8:1:2::")];
        assert_eq!(a.tries(), 4, "one /64, one attacker");
        assert_eq!(a.net, Some((64, ip("2001:db8:1:2:1::1"))));
        assert_eq!(t.attackers[&ip("2001:db8:1:3::")].tries(), 1);
        let mapped = t
            .attackers
            .iter()
            .find(|(k, _)| k.to_canonical() == ip("198.51.100.9"));
        assert_eq!(
            mapped.map(|(_, a)| a.net),
            Some(None),
            "IPv4-mapped is IPv4"
        );
        assert_eq!(t.len(), 3);

        // Per address, when asked; and a /48.
        for (prefix, key, n) in [(128, "2001:db8:1:2:3::3", 5), (48, "2001:db8:1::", 1)] {
            let mut t = Table::default();
            t.set_rules(Rules {
                ipv6_prefix: prefix,
                ..Rules::default()
            });
            for line in &rotating {
                feed(&mut t, &[(line, 10)]);
            }
            feed(&mut t, &[(&from("2001:db8:1:3::1", 9), 10)]);
            assert_eq!(t.len(), n, "/{prefix}");
            assert!(t.attackers.contains_key(&ip(key)), "/{prefix}");
        }
    }

    #[test]
    fn the_table_forgets_the_least_recent_past_its_bound() {
        let mut t = Table::default();
        for (i, last) in [50, 10, 40, 10, 30].iter().enumerate() {
            let line = CONN[2].replace("203.0.113.5", &format!("203.0.113.{i}"));
            feed(&mut t, &[(&line, *last)]);
        }
        // Saved and loaded: most are stored, not read in full.
        let mut t = store::tests::reloaded(&t);
        t.set_rules(Rules {
            max_attackers: 3,
            ..Rules::default()
        });
        feed(
            &mut t,
            &[(&CONN[2].replace("203.0.113.5", "203.0.113.2"), 60)],
        );
        assert_eq!(t.bound(&[self::ip("203.0.113.1")]), 2);
        let mut left: Vec<String> = t.all().keys().map(|ip| ip.to_string()).collect();
        left.sort();
        assert_eq!(left, ["203.0.113.0", "203.0.113.1", "203.0.113.2"]);
        // And so after a save, which compacts them away.
        let mut t = store::tests::reloaded(&t);
        assert_eq!(t.len(), 3);
        assert_eq!(t.bound(&[]), 0);
    }

    #[test]
    fn the_bound_breaks_ties_at_the_cut_by_address_stored_or_not() {
        let mut t = Table::default();
        let lasts = [
            (9, 10),
            (3, 10),
            (5, 10),
            (7, 20),
            (1, 20),
            (8, 30),
            (2, 20),
        ];
        for (i, last) in lasts {
            let line = CONN[2].replace("203.0.113.5", &format!("203.0.113.{i}"));
            feed(&mut t, &[(&line, last)]);
        }
        let mut t = store::tests::reloaded(&t);
        // One touched since, and one kept.
        feed(
            &mut t,
            &[(&CONN[2].replace("203.0.113.5", "203.0.113.2"), 20)],
        );
        t.set_rules(Rules {
            max_attackers: 3,
            ..Rules::default()
        });
        assert_eq!(t.bound(&[ip("203.0.113.3")]), 4);
        let mut left: Vec<String> = t.all().keys().map(|ip| ip.to_string()).collect();
        left.sort();
        // Gone: .5 and .9 (10), then .1 and .2 of the three at 20.
        assert_eq!(left, ["203.0.113.3", "203.0.113.7", "203.0.113.8"]);
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
        t.forget_idle(500, &[]);
        assert_eq!(t.len(), 1);
        assert!(t.attackers.contains_key(&ip("203.0.113.6")));
        feed(&mut t, &[(CONN[0], 10)]);
        t.forget_idle(500, &[ip("203.0.113.5")]);
        assert_eq!(t.len(), 2);
        // Stored, they are forgotten as they would be in memory.
        let mut t = store::tests::reloaded(&t);
        t.forget_idle(500, &[]);
        assert_eq!(t.len(), 1);
        assert!(t.get_mut(&ip("203.0.113.5")).is_none());
        assert!(t.get_mut(&ip("203.0.113.6")).is_some());
    }

    #[test]
    fn reading_a_stored_attacker_does_not_mark_it_changed() {
        let mut t = Table::default();
        feed(&mut t, &[(CONN[2], 100), (CONN[3], 101)]);
        let mut t = store::tests::reloaded(&t);
        let a = t.get(&ip("203.0.113.5")).expect("stored").into_owned();
        assert_eq!(a.last, 101);
        assert!(t.get(&ip("203.0.113.6")).is_none());
        assert!(
            t.unchanged(),
            "a read is not a change: the save writes nothing again"
        );
        t.get_mut(&ip("203.0.113.5")).unwrap().announced = Some(200);
        assert!(!t.unchanged(), "a change is saved");
        assert_eq!(t.get(&ip("203.0.113.5")).unwrap().announced, Some(200));
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
        let mut want: Vec<_> = t.attackers.clone().into_iter().collect();
        want.sort_by(|a, b| b.1.tries().cmp(&a.1.tries()).then(a.0.cmp(&b.0)));
        let ranked: Vec<_> = t
            .ranked()
            .into_iter()
            .map(|(ip, a)| (*ip, a.clone()))
            .collect();
        assert_eq!(ranked, want);
        // Saved in the order of a BTreeMap by address, and read back so.
        let back = store::tests::reloaded(&t);
        let sorted: Vec<IpAddr> = t.snapshot().into_keys().collect();
        let mut saved = Vec::new();
        back.stored.scan(|_| false, |ip, _, _, _| saved.push(ip));
        assert_eq!(saved, sorted);
        assert_eq!(back, t);
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
