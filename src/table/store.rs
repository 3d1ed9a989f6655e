//! How the table is kept in the state file (format 2): each attacker a JSON
//! array, read lazily. Untouched attackers stay as their text (`Stored`),
//! with only the head a run needs read by a one-pass scanner; a sparse
//! index finds them; loading checks every one on a second thread; format 1
//! objects are read in full and written back as arrays. The counting rules
//! are `table`'s: nothing here decides what a try is.

use crate::hash::Map;
use std::cmp::Reverse;
use std::net::IpAddr;
use std::sync::mpsc;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{Attacker, Conn, ConnKey, Rules, Services, Standing, Table, ip_order};
use crate::clock::Secs;

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
            self.net.is_some(),
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
        if tail > 4 {
            t.serialize_element(&self.net)?;
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
    #[serde(default)]
    n: Option<(u8, IpAddr)>,
}

impl Head {
    fn tries(&self) -> u64 {
        Attacker::tries_of(self.ssh, self.ftf, self.ftp)
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
        n: None,
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

/// The attackers loaded and not yet touched, sorted by `ip_order`.
#[derive(Debug, Clone, Default)]
pub(super) struct Store<'a> {
    rows: Vec<Stored<'a>>,
    /// The `ip_order` of every `STRIDE`th row: a search through it stays in
    /// the cache, then one through a block of `rows` touches a few lines
    /// instead of a cache miss per step over 7 MB.
    index: Vec<(bool, u128)>,
}

impl<'a> Store<'a> {
    fn new(rows: Vec<Stored<'a>>) -> Self {
        let mut store = Store {
            rows,
            index: Vec::new(),
        };
        store.reindex();
        store
    }

    /// How many attackers it still holds.
    pub(super) fn len(&self) -> usize {
        self.rows.iter().filter(|s| s.json.is_some()).count()
    }

    /// Nothing was loaded, or everything was taken out by `take_all`.
    pub(super) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Rebuilds `index` after `rows` changed.
    fn reindex(&mut self) {
        self.index = self
            .rows
            .iter()
            .step_by(STRIDE)
            .map(|s| ip_order(&s.ip))
            .collect();
    }

    /// Takes one attacker out, read in full.
    pub(super) fn take(&mut self, ip: &IpAddr) -> Option<Attacker> {
        let key = ip_order(ip);
        let block = self.index.partition_point(|k| *k <= key).saturating_sub(1) * STRIDE;
        let end = (block + STRIDE).min(self.rows.len());
        let rows = self.rows.get_mut(block..end)?;
        let i = rows.binary_search_by_key(&key, |s| ip_order(&s.ip)).ok()?;
        let s = &mut rows[i];
        let json = s.json.take()?;
        Some(s.attacker(json))
    }

    /// Takes every attacker out, each read in full.
    pub(super) fn take_all(&mut self) -> impl Iterator<Item = (IpAddr, Attacker)> + use<'a> {
        self.index.clear();
        std::mem::take(&mut self.rows)
            .into_iter()
            .filter_map(|s| s.json.map(|json| (s.ip, s.attacker(json))))
    }

    /// Each attacker's standing, from its head.
    pub(super) fn standings(&self) -> impl Iterator<Item = Standing> + '_ {
        self.rows
            .iter()
            .filter(|s| s.json.is_some())
            .map(|s| Standing {
                ip: s.ip,
                tries: s.tries,
                announced: s.announced,
                last: None,
            })
    }

    /// The rows still held, most tries first, then in address order (the
    /// rows' own): (tries, row).
    pub(super) fn ranked(&self) -> impl Iterator<Item = (u64, usize)> + use<> {
        let mut v: Vec<(u64, u32)> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, s)| s.json.is_some())
            .map(|(i, s)| (s.tries, i as u32))
            .collect();
        v.sort_unstable_by_key(|&(tries, i)| (Reverse(tries), i));
        v.into_iter().map(|(t, i)| (t, i as usize))
    }

    /// Row `i`, read in full (a row `ranked` gave).
    pub(super) fn read(&self, i: usize) -> (IpAddr, Attacker) {
        let s = &self.rows[i];
        let json = s.json.expect("a row still held");
        (s.ip, s.attacker(json))
    }

    /// Each attacker's address and last seen.
    pub(super) fn lasts(&self) -> impl Iterator<Item = (IpAddr, Secs)> + '_ {
        self.rows
            .iter()
            .filter(|s| s.json.is_some())
            .map(|s| (s.ip, s.last))
    }

    /// Keeps the attackers for which `keep(address, last seen)` holds.
    pub(super) fn retain(&mut self, keep: impl Fn(&IpAddr, Secs) -> bool) {
        self.rows
            .retain(|s| s.json.is_some() && keep(&s.ip, s.last));
        self.reindex();
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
            stored: &self.stored.rows,
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
        // Saved by key: queued again oldest first.
        let mut expiry: Vec<_> = raw.conns.iter().map(|r| (r.conn.t, r.key)).collect();
        expiry.sort_unstable();
        Ok(Table {
            attackers,
            stored: Store::new(stored),
            conns: raw.conns.into_iter().map(|r| (r.key, r.conn)).collect(),
            children: Default::default(),
            expiry: expiry.into(),
            latest,
            // Not saved: the run's options set them.
            rules: Rules::default(),
            links: Default::default(),
        })
    }
}

/// Stored attackers per entry of `Store::index`.
const STRIDE: usize = 32;

/// Stored attackers handed to the reading thread at a time.
const BATCH: usize = 4096;

/// The attackers of a state file: those read in full, and the stored ones.
type Attackers<'a> = (Map<IpAddr, Attacker>, Vec<Stored<'a>>);

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
            let mut map = Map::default();
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
    use super::super::tests::{CONN, feed, ip};
    use super::*;

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
    fn each_ranked_reads_stored_and_touched_in_the_order_of_ranked() {
        let mut t = Table::default();
        // Ties on tries, across stored and touched, IPv4 and IPv6.
        for (i, (addr, n)) in [
            ("203.0.113.5", 2),
            ("198.51.100.2", 3),
            ("2001:db8::", 2),
            ("10.0.0.1", 1),
            ("192.0.2.9", 2),
        ]
        .iter()
        .enumerate()
        {
            let line = format!(
                "Nov 26 00:00:01 web01 sshd[{i}]: message repeated {n} times: [ Failed password for root from {addr} port 22 ssh2]"
            );
            feed(&mut t, &[(&line, 1)]);
        }
        let mut t = reloaded(&t, &mut String::new());
        // Two touched since: one ties with stored ones, one goes first.
        let more = CONN[2].replace("203.0.113.5", "198.51.100.7");
        feed(&mut t, &[(&more, 5), (&more.replace("[3504]", "[1]"), 6)]);
        feed(&mut t, &[(&CONN[2].replace("[3504]", "[9]"), 7)]);
        feed(&mut t, &[(&CONN[2].replace("[3504]", "[10]"), 8)]);
        assert!(t.attackers.len() == 2 && t.stored.len() == 4);
        let mut each = Vec::new();
        t.try_for_each_ranked(|ip, a| {
            each.push((ip, a.clone()));
            Ok::<_, ()>(())
        })
        .unwrap();
        assert_eq!(t.stored.len(), 4, "nothing taken out of the store");
        let ranked: Vec<_> = t
            .ranked()
            .into_iter()
            .map(|(ip, a)| (*ip, a.clone()))
            .collect();
        assert_eq!(each, ranked);
        assert_eq!(each[0].0, ip("203.0.113.5"));
        // An error stops it.
        let mut n = 0;
        let t = reloaded(&t, &mut String::new());
        assert_eq!(
            t.try_for_each_ranked(|_, _| {
                n += 1;
                if n == 2 { Err("stop") } else { Ok(()) }
            }),
            Err("stop")
        );
        assert_eq!(n, 2);
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
            net: None,
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
            ("[1,1,2,3,[],[],0,0,null,0,[64,\"2001:db8::1\"]]", true),
            ("[1,1,2,3,[],[],0,0,null,0,[64,\"2001:db8::1\"],1]", false),
            ("[1,1,2,3,[],[],0,0,null,0,[64,\"host\"]]", false),
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
}
