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
//!
//! A table loaded from the state file keeps each attacker as its JSON text
//! until something touches it: a cron run changes a handful of 100,000.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::mpsc;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

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
/// defaults (see `Attacker::serialize`): 100,000 of them stay small, and
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
    /// The last overflow name seen, so the lines of one guess count once in `users_more`.
    #[serde(skip)]
    last_other: u64,
}

/// `[ssh, s, f, l, u, h, ftf, ftp, a, um]`: the fields in declaration order,
/// which is also the order the derived `Deserialize` reads an array in; it
/// fills in the defaults of a shorter one. Most attackers only tried sshd
/// and are not announced yet, so most arrays end after `h`.
impl Serialize for Attacker {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let set = [
            self.ftp_fail != 0,
            self.ftp_pam != 0,
            self.announced.is_some(),
            self.users_more != 0,
        ];
        let tail = set.iter().rposition(|&x| x).map_or(0, |i| i + 1);
        let mut t = s.serialize_tuple(6 + tail)?;
        t.serialize_element(&self.ssh_tries)?;
        t.serialize_element(&self.services)?;
        t.serialize_element(&self.first)?;
        t.serialize_element(&self.last)?;
        t.serialize_element(&self.users)?;
        t.serialize_element(&self.hosts)?;
        if tail > 0 {
            t.serialize_element(&self.ftp_fail)?;
        }
        if tail > 1 {
            t.serialize_element(&self.ftp_pam)?;
        }
        if tail > 2 {
            t.serialize_element(&self.announced)?;
        }
        if tail > 3 {
            t.serialize_element(&self.users_more)?;
        }
        t.end()
    }
}

/// An attacker's array read by the same rules as `Attacker`, without
/// allocating: names are checked to be strings and skipped. Loading checks
/// every stored attacker this way (or by `scan_head`), so one that loads
/// can always be read in full later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
struct Head {
    #[serde(default)]
    ssh: u64,
    s: Services,
    f: Secs,
    l: Secs,
    #[serde(default)]
    u: Names,
    #[serde(default)]
    h: Names,
    #[serde(default)]
    ftf: u64,
    #[serde(default)]
    ftp: u64,
    #[serde(default)]
    a: Option<Secs>,
    #[serde(default)]
    um: u32,
}

impl Head {
    fn tries(&self) -> u64 {
        self.ssh + self.ftf.max(self.ftp)
    }
}

/// Reads the `Head` of an array written the way serde_json writes one (no
/// spaces, plain integers) in a single pass over its bytes; `None` for
/// anything else, which `Head`'s serde reading then accepts or refuses. It
/// accepts nothing serde would refuse: the text was checked to be JSON, so
/// a string is whatever lies between two unescaped quotes.
fn scan_head(json: &[u8]) -> Option<Head> {
    let mut c = Cursor { b: json, i: 0 };
    c.byte(b'[')?;
    let ssh = c.uint()?;
    c.byte(b',')?;
    let s = Services(u8::try_from(c.uint()?).ok()?);
    c.byte(b',')?;
    let f = c.int()?;
    c.byte(b',')?;
    let l = c.int()?;
    c.byte(b',')?;
    c.strings()?;
    c.byte(b',')?;
    c.strings()?;
    // The optional tail, each element only after the one before it.
    let mut head = Head {
        ssh,
        s,
        f,
        l,
        u: Names,
        h: Names,
        ftf: 0,
        ftp: 0,
        a: None,
        um: 0,
    };
    if c.byte(b',').is_some() {
        head.ftf = c.uint()?;
        if c.byte(b',').is_some() {
            head.ftp = c.uint()?;
            if c.byte(b',').is_some() {
                head.a = match c.b[c.i..].starts_with(b"null") {
                    true => {
                        c.i += 4;
                        None
                    }
                    false => Some(c.int()?),
                };
                if c.byte(b',').is_some() {
                    head.um = u32::try_from(c.uint()?).ok()?;
                }
            }
        }
    }
    c.byte(b']')?;
    (c.i == json.len()).then_some(head)
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn byte(&mut self, want: u8) -> Option<()> {
        (self.b.get(self.i) == Some(&want)).then(|| self.i += 1)
    }

    /// Up to 19 digits, which always fit; a longer number is left to serde.
    fn uint(&mut self) -> Option<u64> {
        let start = self.i;
        let mut v: u64 = 0;
        while let Some(d) = self
            .b
            .get(self.i)
            .map(|b| b.wrapping_sub(b'0'))
            .filter(|d| *d <= 9)
        {
            // Cannot overflow within 19 digits; more are refused below.
            v = v.wrapping_mul(10).wrapping_add(u64::from(d));
            self.i += 1;
        }
        (1..=19).contains(&(self.i - start)).then_some(v)
    }

    fn int(&mut self) -> Option<i64> {
        match self.byte(b'-') {
            Some(()) => 0i64.checked_sub_unsigned(self.uint()?),
            None => i64::try_from(self.uint()?).ok(),
        }
    }

    /// `[]` or `["…","…"]`.
    fn strings(&mut self) -> Option<()> {
        self.byte(b'[')?;
        if self.byte(b']').is_some() {
            return Some(());
        }
        loop {
            self.byte(b'"')?;
            loop {
                let rest = &self.b[self.i..];
                let n = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
                self.i += n + 1;
                match rest.get(n..n + 2) {
                    Some([b'"', _]) | None => break,
                    // `\u` may be a lone surrogate, which a String refuses: serde decides.
                    Some([_, b'u']) => return None,
                    Some(_) => self.i += 1,
                }
            }
            match self.b.get(self.i) {
                Some(b']') => {
                    self.i += 1;
                    return Some(());
                }
                Some(b',') => self.i += 1,
                _ => return None,
            }
        }
    }
}

/// A list of strings, checked and dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Names;

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Names;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Names, A::Error> {
                while a.next_element::<Str>()?.is_some() {}
                Ok(Names)
            }
        }
        d.deserialize_seq(V)
    }
}

/// A string, checked and dropped: borrowed or escaped, nothing is copied.
struct Str;

impl<'de> Deserialize<'de> for Str {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Str;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Str, E> {
                Ok(Str)
            }
        }
        d.deserialize_str(V)
    }
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

/// An attacker as the state file had it, kept as its JSON text until a run
/// touches it: a cron run reads a few KB of log, and re-reading and
/// re-writing 100,000 idle attackers in full would be nearly all its work.
///
/// Small on purpose: every byte of it is paid 100,000 times in fresh memory.
#[derive(Debug, Clone, Copy)]
struct Stored<'a> {
    ip: IpAddr,
    /// The address as the state file spells it, written back as it is.
    key: &'a str,
    /// Its text in the state file; `None` once it was taken into `Table::attackers`.
    json: Option<&'a RawValue>,
    tries: u64,
    last: Secs,
    announced: bool,
}

impl Stored<'_> {
    /// The attacker, read in full.
    fn attacker(&self, json: &RawValue) -> Attacker {
        serde_json::from_str(json.get()).unwrap_or_else(|_| {
            // Unreachable: loading checked the text against the same grammar.
            debug_assert!(false, "stored attacker {} unreadable", self.ip);
            Attacker {
                ssh_tries: self.tries,
                first: self.last,
                last: self.last,
                announced: self.announced.then_some(self.last),
                ..Attacker::default()
            }
        })
    }
}

/// Every attacker, plus the open sshd connections. `'a` is the text of the
/// state file it was loaded from, which holds the untouched attackers.
#[derive(Debug, Clone, Default)]
pub struct Table<'a> {
    /// Attackers added or touched since the state was loaded.
    attackers: HashMap<IpAddr, Attacker>,
    /// The others, as loaded: sorted by `ip_order`, none also in `attackers`.
    stored: Vec<Stored<'a>>,
    /// The `ip_order` of every `STRIDE`th stored attacker: a search through
    /// it stays in the cache, then one through a block of `stored` touches a
    /// few lines instead of a cache miss per step over 7 MB.
    index: Vec<(bool, u128)>,
    pub conns: HashMap<ConnKey, Conn>,
    /// Newest event time merged.
    latest: Secs,
}

/// Equal when they hold the same attackers, whether read in full or not.
impl PartialEq for Table<'_> {
    fn eq(&self, other: &Table<'_>) -> bool {
        let (mut a, mut b) = (self.clone(), other.clone());
        (&a.conns, a.latest) == (&b.conns, b.latest) && a.all() == b.all()
    }
}

impl Eq for Table<'_> {}

/// One attacker's standing, enough to decide whether it is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub ip: IpAddr,
    pub tries: u64,
    pub announced: bool,
    /// The last try, for attackers read in full (those this run touched).
    pub last: Option<Secs>,
}

impl Table<'_> {
    /// How many attackers it holds.
    pub fn len(&self) -> usize {
        self.attackers.len() + self.stored.iter().filter(|s| s.json.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rebuilds `index` after `stored` changed.
    fn reindex(&mut self) {
        self.index = self
            .stored
            .iter()
            .step_by(STRIDE)
            .map(|s| ip_order(&s.ip))
            .collect();
    }

    /// Moves a stored attacker into `attackers`, read in full; false if there is none.
    fn take_stored(&mut self, ip: &IpAddr) -> bool {
        let key = ip_order(ip);
        let block = self.index.partition_point(|k| *k <= key).saturating_sub(1) * STRIDE;
        let end = (block + STRIDE).min(self.stored.len());
        let Some(stored) = self.stored.get_mut(block..end) else {
            return false;
        };
        let Ok(i) = stored.binary_search_by_key(&key, |s| ip_order(&s.ip)) else {
            return false;
        };
        let s = &mut stored[i];
        let Some(json) = s.json.take() else {
            return false;
        };
        let a = s.attacker(json);
        self.attackers.insert(*ip, a);
        true
    }

    /// One attacker, to read or change.
    pub fn get_mut(&mut self, ip: &IpAddr) -> Option<&mut Attacker> {
        if !self.attackers.contains_key(ip) && !self.take_stored(ip) {
            return None;
        }
        self.attackers.get_mut(ip)
    }

    /// Every attacker, each read in full: for the commands that list them all.
    pub fn all(&mut self) -> &HashMap<IpAddr, Attacker> {
        self.attackers.reserve(self.stored.len());
        for s in std::mem::take(&mut self.stored) {
            if let Some(json) = s.json {
                let a = s.attacker(json);
                self.attackers.insert(s.ip, a);
            }
        }
        self.index.clear();
        &self.attackers
    }

    /// Every attacker's standing, without reading the untouched ones in full.
    pub fn standings(&self) -> impl Iterator<Item = Standing> + '_ {
        let touched = self.attackers.iter().map(|(ip, a)| Standing {
            ip: *ip,
            tries: a.tries(),
            announced: a.announced.is_some(),
            last: Some(a.last),
        });
        let stored = self.stored.iter().filter(|s| s.json.is_some());
        touched.chain(stored.map(|s| Standing {
            ip: s.ip,
            tries: s.tries,
            announced: s.announced,
            last: None,
        }))
    }

    /// Merges one failed-login event that happened at `t`.
    pub fn record(&mut self, ev: &Event, t: Secs) {
        self.latest = self.latest.max(t);
        if !self.stored.is_empty() && !self.attackers.contains_key(&ev.ip) {
            self.take_stored(&ev.ip);
        }
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
        let before = self.len();
        self.attackers.retain(|ip, a| a.last >= cutoff || keep(ip));
        self.stored
            .retain(|s| s.json.is_some() && (s.last >= cutoff || keep(&s.ip)));
        self.reindex();
        before - self.len()
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

impl Serialize for Table<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        // Sorted by address, so that the same table always writes the same
        // bytes: the stored ones are in that order already, the touched ones
        // are sorted (on keys held by value) and merged in.
        let mut touched: Vec<_> = self
            .attackers
            .iter()
            .map(|(ip, a)| (ip_order(ip), ip, a))
            .collect();
        touched.sort_unstable_by_key(|&(key, _, _)| key);
        let attackers = Merged {
            touched: &touched,
            stored: &self.stored,
        };
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

/// All attackers in address order, written as one JSON object (as a
/// `BTreeMap` would be); the untouched ones as the very text they were read from.
struct Merged<'t, 'a> {
    touched: &'t [((bool, u128), &'t IpAddr, &'t Attacker)],
    stored: &'t [Stored<'a>],
}

impl Serialize for Merged<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.touched.len() + self.stored.len()))?;
        let mut touched = self.touched.iter().peekable();
        for st in self.stored {
            let Some(json) = &st.json else { continue };
            let key = ip_order(&st.ip);
            while let Some((_, ip, a)) = touched.next_if(|(k, _, _)| *k < key) {
                m.serialize_entry(ip, a)?;
            }
            m.serialize_entry(st.key, json)?;
        }
        for (_, ip, a) in touched {
            m.serialize_entry(ip, a)?;
        }
        m.end()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Table<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw<'a> {
            #[serde(default, borrow, deserialize_with = "attackers_map")]
            attackers: Attackers<'a>,
            #[serde(default)]
            conns: Vec<ConnRecord>,
        }
        let raw = Raw::deserialize(d)?;
        let (attackers, stored) = raw.attackers;
        let latest = attackers
            .values()
            .map(|a| a.last)
            .chain(stored.iter().map(|s| s.last))
            .max()
            .unwrap_or(0);
        let mut table = Table {
            attackers,
            stored,
            index: Vec::new(),
            conns: raw.conns.into_iter().map(|r| (r.key, r.conn)).collect(),
            latest,
        };
        table.reindex();
        Ok(table)
    }
}

/// Stored attackers per entry of `Table::index`.
const STRIDE: usize = 32;

/// Stored attackers handed to the reading thread at a time.
const BATCH: usize = 4096;

/// The attackers of a state file: those read in full, and the stored ones.
type Attackers<'a> = (HashMap<IpAddr, Attacker>, Vec<Stored<'a>>);

/// A state file's address, as `IpAddr::from_str` reads it, with its error's words.
fn read_ip(key: &str) -> Result<IpAddr, String> {
    crate::parse::parse_ip(key.as_bytes())
        .ok_or_else(|| format!("invalid IP address syntax: {key:?}"))
}

/// Reads what a run needs of an attacker it may not touch.
fn read_stored<'a>(key: &'a str, json: &'a RawValue) -> Result<Stored<'a>, String> {
    let ip = read_ip(key)?;
    let head = match scan_head(json.get().as_bytes()) {
        Some(head) => head,
        None => {
            serde_json::from_str::<Head>(json.get()).map_err(|e| format!("attacker {ip}: {e}"))?
        }
    };
    Ok(Stored {
        ip,
        key,
        json: Some(json),
        tries: head.tries(),
        last: head.l,
        announced: head.a.is_some(),
    })
}

/// The attackers of a state file. An array (format 2) is kept as its text
/// plus what `read_stored` reads of it; an object (format 1) is read in
/// full, and written back as an array. Addresses are decoded by `parse::parse_ip` (exactly
/// `IpAddr::from_str`, without its UTF-8 and generic parsing overhead).
fn attackers_map<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Attackers<'a>, D::Error> {
    /// An address: its text when it can be borrowed (it has no escapes),
    /// to be read later, else the address read now.
    enum Key<'de> {
        Text(&'de str),
        Read(IpAddr),
    }
    impl<'de> Deserialize<'de> for Key<'de> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("IP address")
                }
                fn visit_borrowed_str<E: serde::de::Error>(
                    self,
                    s: &'de str,
                ) -> Result<Key<'de>, E> {
                    Ok(Key::Text(s))
                }
                fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                    read_ip(s).map(Key::Read).map_err(E::custom)
                }
            }
            d.deserialize_str(V)
        }
    }
    struct V<'a>(std::marker::PhantomData<&'a ()>);
    impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
        type Value = Attackers<'a>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map")
        }
        fn visit_map<M: serde::de::MapAccess<'de>>(
            self,
            mut m: M,
        ) -> Result<Self::Value, M::Error> {
            use serde::de::Error;
            let mut map = HashMap::new();
            // serde_json finds where each attacker's text ends while a second
            // thread reads the addresses and heads, a batch at a time: the two
            // halves of loading a large table cost about the same.
            let (batches, received) = mpsc::sync_channel::<Vec<(&str, &RawValue)>>(4);
            let (scanned, stored) = std::thread::scope(|scope| {
                let reader = std::thread::Builder::new().spawn_scoped(scope, move || {
                    let mut stored = Vec::new();
                    for batch in received {
                        for (key, json) in batch {
                            stored.push(read_stored(key, json)?);
                        }
                    }
                    Ok::<_, String>(stored)
                });
                let reader = match reader {
                    Ok(reader) => reader,
                    Err(e) => return (Ok(()), Err(format!("cannot start a thread: {e}"))),
                };
                let mut batch = Vec::with_capacity(BATCH);
                let mut scan = || -> Result<(), M::Error> {
                    while let Some(key) = m.next_key()? {
                        let json: &'de RawValue = m.next_value()?;
                        match key {
                            Key::Text(key) if json.get().starts_with('[') => {
                                batch.push((key, json));
                                if batch.len() == BATCH {
                                    let full =
                                        std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                                    if batches.send(full).is_err() {
                                        break; // The reader stopped at a bad attacker.
                                    }
                                }
                            }
                            _ => {
                                let ip = match key {
                                    Key::Text(key) => read_ip(key).map_err(M::Error::custom)?,
                                    Key::Read(ip) => ip,
                                };
                                let a = serde_json::from_str(json.get())
                                    .map_err(|e| M::Error::custom(format!("attacker {ip}: {e}")))?;
                                map.insert(ip, a);
                            }
                        }
                    }
                    Ok(())
                };
                let scanned = scan();
                let _ = batches.send(batch);
                drop(batches);
                let stored = reader
                    .join()
                    .unwrap_or_else(|_| Err("reading the state failed".into()));
                (scanned, stored)
            });
            scanned?;
            let mut stored = stored.map_err(M::Error::custom)?;
            // Written in address order; anything else was edited by hand. A
            // repeated address: the last one wins, as in `HashMap::deserialize`.
            if !stored.is_sorted_by(|a, b| ip_order(&a.ip) < ip_order(&b.ip)) {
                stored.reverse();
                stored.sort_by_key(|s| ip_order(&s.ip));
                stored.dedup_by_key(|s| s.ip);
            }
            if !map.is_empty() {
                stored.retain(|s| !map.contains_key(&s.ip));
            }
            Ok((map, stored))
        }
    }
    d.deserialize_map(V(std::marker::PhantomData))
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
        let mut want: Vec<_> = t.attackers.clone().into_iter().collect();
        want.sort_by(|a, b| b.1.tries().cmp(&a.1.tries()).then(a.0.cmp(&b.0)));
        let ranked: Vec<_> = t
            .ranked()
            .into_iter()
            .map(|(ip, a)| (*ip, a.clone()))
            .collect();
        assert_eq!(ranked, want);
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

    /// A table saved and loaded again: every attacker stored, none read in full.
    fn reloaded(t: &Table, json: &mut String) -> Table<'static> {
        *json = serde_json::to_string(t).unwrap();
        let json: &'static str = Box::leak(json.clone().into_boxed_str());
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn stored_attackers_are_read_only_when_touched_yet_count_everywhere() {
        let mut t = Table::default();
        let other = CONN[2].replace("203.0.113.5", "198.51.100.2");
        feed(&mut t, &[(CONN[2], 100), (CONN[3], 101), (&other, 50)]);
        t.get_mut(&ip("198.51.100.2")).unwrap().announced = Some(60);
        let mut t = reloaded(&t, &mut String::new());
        assert!(t.attackers.is_empty() && t.stored.len() == 2);
        assert_eq!(t.len(), 2);
        let mut standings: Vec<_> = t.standings().collect();
        standings.sort_by_key(|s| s.tries);
        assert_eq!(
            standings,
            [
                Standing {
                    ip: ip("198.51.100.2"),
                    tries: 1,
                    announced: true,
                    last: None,
                },
                Standing {
                    ip: ip("203.0.113.5"),
                    tries: 2,
                    announced: false,
                    last: None,
                },
            ]
        );
        // A new guess reads its attacker in full, and only that one.
        feed(&mut t, &[(CONN[4], 200)]);
        assert_eq!(t.attackers.len(), 1);
        assert_eq!(t.attackers[&ip("203.0.113.5")].tries(), 3);
        assert_eq!(t.attackers[&ip("203.0.113.5")].users, ["admin"]);
        assert_eq!(t.len(), 2, "taken, not copied");
        // Forgetting reaches the stored one.
        assert_eq!(t.forget_idle(80, |_| false), 1);
        assert_eq!(t.len(), 1);
        assert!(t.get_mut(&ip("198.51.100.2")).is_none());
        // And what is written back reads as the same table.
        let again = reloaded(&t, &mut String::new());
        assert_eq!(again, t);
    }

    #[test]
    fn a_large_table_is_read_whole_and_its_first_bad_attacker_named() {
        let entry = |i: u32, bad: bool| {
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i);
            let names = if bad { r#"["root",5]"# } else { r#"["root"]"# };
            format!(r#""{ip}":[{i},1,1,{i},{names},[]]"#)
        };
        let table = |bad: &[u32]| {
            // Not a whole number of batches: the last one is short.
            let entries: Vec<String> = (0..3 * BATCH as u32 + 5)
                .map(|i| entry(i, bad.contains(&i)))
                .collect();
            format!(r#"{{"attackers":{{{}}}}}"#, entries.join(","))
        };
        let json = table(&[]);
        let mut t: Table = serde_json::from_str(&json).unwrap();
        assert_eq!(t.len(), 3 * BATCH + 5);
        let tries: u64 = t.standings().map(|s| s.tries).sum();
        assert_eq!(tries, (0..3 * BATCH as u64 + 5).sum::<u64>());
        // Each is found, at the edges of the index's blocks too; and after
        // forgetting the first half.
        let ip = |i: u32| IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
        let last = 3 * BATCH as u32 + 4;
        for i in [0, 1, 31, 32, 33, 63, 64, 4095, last - 1, last] {
            assert_eq!(t.get_mut(&ip(i)).map(|a| a.tries()), Some(i as u64), "{i}");
        }
        assert!(t.get_mut(&ip(last + 1)).is_none());
        assert!(t.get_mut(&"9.255.255.255".parse().unwrap()).is_none());
        t.forget_idle(6000, |_| false);
        for i in [6000, 6031, 6032, 6033, 8191, last] {
            assert_eq!(t.get_mut(&ip(i)).map(|a| a.tries()), Some(i as u64), "{i}");
        }
        assert!(t.get_mut(&ip(5999)).is_none());

        let json = table(&[BATCH as u32 + 7, 2 * BATCH as u32 + 1]);
        let err = serde_json::from_str::<Table>(&json)
            .unwrap_err()
            .to_string();
        assert!(err.contains("attacker 10.0.16.7:"), "{err}");
        // Broken JSON after many good attackers: serde_json's own error.
        let json = table(&[]);
        let err = serde_json::from_str::<Table>(&json[..json.len() - 40])
            .unwrap_err()
            .to_string();
        assert!(err.contains("EOF"), "{err}");
    }

    #[test]
    fn all_and_ranked_read_every_stored_attacker() {
        let mut t = Table::default();
        let other = CONN[2].replace("203.0.113.5", "198.51.100.2");
        feed(&mut t, &[(CONN[2], 100), (&other, 50), (&other, 51)]);
        let want = t.attackers.clone();
        let mut t = reloaded(&t, &mut String::new());
        let ranked: Vec<String> = t.ranked().iter().map(|(ip, _)| ip.to_string()).collect();
        assert_eq!(ranked, ["198.51.100.2", "203.0.113.5"]);
        assert_eq!(t.all(), &want);
        assert!(t.stored.is_empty());
    }

    /// `Head` as serde reads it, for comparing with `scan_head`.
    fn serde_head(json: &str) -> Option<Head> {
        serde_json::from_str(json).ok()
    }

    #[test]
    fn scan_head_reads_what_serde_reads_or_leaves_it_to_serde() {
        let a = Attacker {
            ssh_tries: 7,
            ftp_fail: 1,
            ftp_pam: 2,
            services: Services(3),
            first: -5,
            last: 1_795_922_429,
            announced: Some(1_795_922_430),
            users_more: 4,
            users: vec!["r\"o\\ot".into(), "é".into(), "]".into()],
            hosts: vec!["web01".into()],
            last_other: 0,
        };
        let json = serde_json::to_string(&a).unwrap();
        let head = scan_head(json.as_bytes()).expect("serde_json's own form");
        assert_eq!(Some(head), serde_head(&json));
        assert_eq!(
            (head.tries(), head.l, head.a),
            (9, 1_795_922_429, Some(1_795_922_430))
        );
        // Forms serde reads but the scan leaves to it, and forms both refuse.
        for (json, serde_ok) in [
            ("[1, 1,2,3,[],[]]", true),
            ("[1,1,2,3,[\"\\u00e9\"],[]]", true),
            ("[1,1,2,3,[\"\\u001b\"],[]]", true),
            ("[1,1,2,3,[\"\\ud800\"],[]]", false),
            ("[99999999999999999999,1,2,3,[],[]]", false),
            ("[18446744073709551615,1,2,3,[],[]]", true),
            ("[1,1,9223372036854775808,3,[],[]]", false),
            ("[1,256,2,3,[],[]]", false),
            ("[1,1,2,3,[\"a\",1],[]]", false),
            ("[1,1,2,3,[],[]", false),
            ("[1,1,2,3]", true),
            ("[1,1,2]", false),
            ("[-1,1,2,3,[],[]]", false),
            ("[1.0,1,2,3,[],[]]", false),
            ("[1,1,2,3,[],[],0,0,null,0,5]", false),
            ("[1,1,2,3,[],[],0,0,\"x\"]", false),
        ] {
            assert_eq!(scan_head(json.as_bytes()), None, "{json}");
            assert_eq!(serde_head(json).is_some(), serde_ok, "{json}");
        }
    }

    proptest::proptest! {
        /// Whatever the scan reads from JSON, serde reads the same from it.
        #[test]
        fn scan_head_never_disagrees_with_serde(
            ssh in proptest::prelude::any::<u64>(),
            ftp in 0u64..3,
            s in 0u16..300,
            times in proptest::prelude::any::<(i64, i64, Option<i64>)>(),
            um in 0u64..(1 << 33),
            names in proptest::collection::vec(".{0,6}", 0..4),
            tail in 0usize..=4,
            cut in 0usize..200,
            byte in proptest::prelude::any::<u8>(),
        ) {
            let (f, l, a) = times;
            let elements = [
                ssh.to_string(),
                s.to_string(),
                f.to_string(),
                l.to_string(),
                serde_json::to_string(&names).unwrap(),
                serde_json::to_string(&names[..names.len() / 2]).unwrap(),
                "0".to_string(),
                ftp.to_string(),
                a.map_or("null".to_string(), |a| a.to_string()),
                um.to_string(),
            ];
            let head = format!("[{}]", elements[..6 + tail].join(","));
            // What serde_json writes for an attacker, the scan reads (a count
            // of 20 digits and names with `\u` escapes it leaves to serde).
            let unicode_escape = |c: char| (c as u32) < 0x20 && !"\n\t\r\u{8}\u{c}".contains(c);
            let plain = !names.iter().any(|n| n.chars().any(unicode_escape));
            if s <= 255 && um <= u64::from(u32::MAX) && ssh < 10u64.pow(19) && plain {
                proptest::prop_assert!(scan_head(head.as_bytes()).is_some(), "{}", head);
            }
            let mut mutated = head.clone().into_bytes();
            if cut < mutated.len() {
                mutated[cut] = byte;
            }
            for text in [head.into_bytes(), mutated] {
                let Ok(text) = String::from_utf8(text) else { continue };
                // Loading hands the scan only text serde_json found to be JSON.
                if serde_json::from_str::<serde::de::IgnoredAny>(&text).is_err() {
                    continue;
                }
                if let Some(head) = scan_head(text.as_bytes()) {
                    proptest::prop_assert_eq!(Some(head), serde_head(&text), "{}", text);
                    let full = serde_json::from_str::<Attacker>(&text);
                    proptest::prop_assert!(full.is_ok(), "{}", text);
                }
            }
        }
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
