//! One attacker as the state file writes it: a JSON array in field order,
//! and its `Head` (the numbers a run needs), read by a one-pass scanner
//! without allocating. `store` keeps these records; the counting rules are
//! `table`'s: nothing here decides what a try is.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{Attacker, Said, Services};
use crate::clock::Secs;

/// `[ssh, s, f, l, u, h, ftf, ftp, a, um, n, an]`: the fields in declaration order,
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
            self.said.is_some(),
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
        if tail > 5 {
            t.serialize_element(&self.said)?;
        }
        t.end()
    }
}

/// An attacker's array read by the same rules as `Attacker`, without
/// allocating: names are checked to be strings and skipped. What a scan of
/// the stored attackers reads of each (by `scan_head`, or this).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(super) struct Head {
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
    /// Read, to refuse what `Attacker` refuses; only numbers, so nothing allocates.
    #[serde(default)]
    an: Option<Said>,
}

impl Head {
    pub(super) fn tries(&self) -> u64 {
        Attacker::tries_of(self.ssh, self.ftf, self.ftp)
    }

    pub(super) fn last(&self) -> Secs {
        self.l
    }

    pub(super) fn announced(&self) -> bool {
        self.a.is_some()
    }
}

/// The head of a record's array: by the scanner for what this program
/// writes, by serde for anything else; `None` if it is no attacker.
pub(super) fn read_head(json: &[u8]) -> Option<Head> {
    scan_head(json).or_else(|| serde_json::from_slice(json).ok())
}

/// Reads the `Head` of an array written the way serde_json writes one (no
/// spaces, plain integers) in a single pass over its bytes; `None` for
/// anything else, which `Head`'s serde reading then accepts or refuses. It
/// accepts nothing serde would refuse: the text was checked to be JSON, so
/// a string is whatever lies between two unescaped quotes.
pub(super) fn scan_head(json: &[u8]) -> Option<Head> {
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
        an: None,
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
                    // No network (one is left to serde), then what an
                    // announcement said, as an announced address has.
                    if c.byte(b',').is_some() {
                        c.literal(b"null")?;
                        if c.byte(b',').is_some() {
                            head.an = Some(c.said()?);
                        }
                    }
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

    fn literal(&mut self, want: &[u8]) -> Option<()> {
        self.b[self.i..]
            .starts_with(want)
            .then(|| self.i += want.len())
    }

    /// `"key":`, then an unsigned number that fits `T`.
    fn field<T: TryFrom<u64>>(&mut self, key: &[u8]) -> Option<T> {
        self.byte(b'"')?;
        self.literal(key)?;
        self.literal(b"\":")?;
        T::try_from(self.uint()?).ok()
    }

    /// A `Said` as serde_json writes one: its fields in order, no spaces.
    fn said(&mut self) -> Option<Said> {
        self.byte(b'{')?;
        let tries = self.field(b"t")?;
        self.byte(b',')?;
        self.byte(b'"')?;
        self.literal(b"f\":")?;
        let first = self.int()?;
        self.byte(b',')?;
        self.byte(b'"')?;
        self.literal(b"l\":")?;
        let last = self.int()?;
        self.byte(b',')?;
        let services = Services(self.field(b"s")?);
        self.byte(b',')?;
        let servers = self.field(b"h")?;
        self.byte(b',')?;
        let shown = self.field(b"u")?;
        self.byte(b',')?;
        let users_more = self.field(b"m")?;
        self.byte(b'}')?;
        Some(Said {
            tries,
            first,
            last,
            services,
            servers,
            shown,
            users_more,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

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
            said: None,
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
            // What an announcement said: read, and refused when it is not numbers.
            (
                "[1,1,2,3,[],[],0,0,5,0,null,{\"t\":9,\"f\":1,\"l\":2,\"s\":1}]",
                true,
            ),
            (
                "[1,1,2,3,[],[],0,0,5,0,null,{\"t\":9,\"f\":1,\"l\":2,\"s\":1,\"u\":-1}]",
                false,
            ),
            ("[1,1,2,3,[],[],0,0,5,0,null,null,1]", false),
        ] {
            assert_eq!(scan_head(json.as_bytes()), None, "{json}");
            assert_eq!(serde_head(json).is_some(), serde_ok, "{json}");
        }
    }

    #[test]
    fn what_was_said_is_kept_last_and_only_when_there_is_some() {
        let mut a = Attacker {
            ssh_tries: 7,
            services: Services(1),
            announced: Some(9),
            ..Attacker::default()
        };
        let before = serde_json::to_string(&a).unwrap();
        assert_eq!(before, "[7,1,0,0,[],[],0,0,9]", "as a state without it");
        a.said = Some(Said {
            tries: 6,
            last: 8,
            services: Services(1),
            shown: 0b101,
            ..Said::default()
        });
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(
            json,
            "[7,1,0,0,[],[],0,0,9,0,null,{\"t\":6,\"f\":0,\"l\":8,\"s\":1,\"h\":0,\"u\":5,\"m\":0}]"
        );
        assert_eq!(serde_json::from_str::<Attacker>(&json).unwrap(), a);
        assert_eq!(serde_head(&json).map(|h| h.a), Some(Some(9)));
        assert_eq!(scan_head(json.as_bytes()), serde_head(&json), "scanned");
        assert!(scan_head(json.as_bytes()).is_some_and(|h| h.an == a.said));
        let old: Attacker = serde_json::from_str(&before).unwrap();
        assert_eq!(old.said, None, "a state saved before it was kept");
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
            tail in 0usize..=6,
            // Most in range, so that most whole tails are scanned.
            said in (0u64..11_000_000_000_000_000_000, proptest::prelude::any::<(i64, i64)>()),
            said_small in (0u16..300, 0u64..(1 << 32) + (1 << 28), 0u32..(1 << 16) + 4096, 0u64..(1 << 32) + (1 << 28)),
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
                "null".to_string(),
                format!(
                    "{{\"t\":{},\"f\":{},\"l\":{},\"s\":{},\"h\":{},\"u\":{},\"m\":{}}}",
                    said.0, said.1.0, said.1.1, said_small.0, said_small.1, said_small.2, said_small.3
                ),
            ];
            let head = format!("[{}]", elements[..6 + tail].join(","));
            // What serde_json writes for an attacker, the scan reads (a count
            // of 20 digits and names with `\u` escapes it leaves to serde).
            let unicode_escape = |c: char| (c as u32) < 0x20 && !"\n\t\r\u{8}\u{c}".contains(c);
            let plain = !names.iter().any(|n| n.chars().any(unicode_escape));
            let (ss, h, u, m) = said_small;
            let said_fits = tail < 6
                || (ss <= 255 && h <= u64::from(u32::MAX) && u <= u32::from(u16::MAX)
                    && m <= u64::from(u32::MAX) && said.0 < 10u64.pow(19));
            if s <= 255 && um <= u64::from(u32::MAX) && ssh < 10u64.pow(19) && plain && said_fits {
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
