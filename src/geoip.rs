//! Who holds an address: the AS number, its name and the country, read
//! offline from the MaxMind databases the options file's `[geoip]` (or
//! `--geoip-asn` and `--geoip-country`) names. `Geo::open` reads the files
//! (config does, at the edge); `Geo::owner` is then a pure lookup in
//! memory, which `announce` and the exports call.
//!
//! The files are read whole rather than memory-mapped: a monthly refresh
//! that rewrites a file in place (`curl -o`) under a mapped run would kill
//! it with SIGBUS, and a run looks up only the few attackers due.
//!
//! The layouts read: GeoLite2 and DB-IP (`autonomous_system_number`,
//! `autonomous_system_organization`, `country.iso_code`) and IPinfo Lite
//! (`asn` as "AS64500", `as_name`, `country_code`), in either file: an
//! IPinfo Lite file given as the ASN database gives the country too.

use std::fmt;
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use maxminddb::{PathElement, Reader};
use unicode_normalization::UnicodeNormalization;

use crate::clock::Secs;
use crate::notice::{self, Notes};
use crate::render::Owner;

/// A database built longer ago than this misattributes: address blocks
/// change hands, and MaxMind, DB-IP and IPinfo publish monthly or faster.
pub const STALE_AFTER: Secs = 90 * 86_400;

/// Longest AS name kept, in characters; posts cut it shorter still.
pub const MAX_ORG_CHARS: usize = 64;

/// Which database: the one that says the AS, or the one that says the country.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Asn,
    Country,
}

impl Kind {
    /// Its option, for messages: `--geoip-asn` or `--geoip-country`.
    fn option(self) -> &'static str {
        match self {
            Kind::Asn => "--geoip-asn / [geoip] asn",
            Kind::Country => "--geoip-country / [geoip] country",
        }
    }

    /// The state's note while it is stale (`notice::once`).
    pub fn stale_note(self) -> &'static str {
        match self {
            Kind::Asn => "geoip-asn-stale",
            Kind::Country => "geoip-country-stale",
        }
    }
}

/// One database, read whole into memory.
pub struct Db {
    pub kind: Kind,
    pub path: PathBuf,
    /// Its metadata's `build_epoch`.
    pub built: Secs,
    reader: Reader<Vec<u8>>,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("kind", &self.kind)
            .field("path", &self.path)
            .field("built", &self.built)
            .finish()
    }
}

impl Db {
    /// Reads `path`: an error that names it when it is missing, unreadable
    /// or not a MaxMind DB file.
    pub fn open(kind: Kind, path: &Path) -> Result<Db> {
        let shown = path.display();
        let what = kind.option();
        let bytes = read_regular(path)
            .with_context(|| format!("cannot read the GeoIP database {shown} ({what})"))?;
        let reader = Reader::from_source(bytes)
            .map_err(|e| anyhow!("{shown} ({what}) is not a MaxMind DB (.mmdb) file: {e}"))?;
        let built = i64::try_from(reader.metadata().build_epoch).unwrap_or(i64::MAX);
        Ok(Db {
            kind,
            path: path.to_path_buf(),
            built,
            reader,
        })
    }

    /// Whether it was built more than [`STALE_AFTER`] before `now`.
    pub fn is_stale(&self, now: Secs) -> bool {
        now.saturating_sub(self.built) > STALE_AFTER
    }

    /// What the warning says.
    fn stale_message(&self, now: Secs) -> String {
        format!(
            "the GeoIP database {} was built {} days ago ({}): owners of addresses change, so refresh it (monthly, from cron)",
            self.path.display(),
            now.saturating_sub(self.built) / 86_400,
            crate::clock::format_rfc3339(self.built),
        )
    }

    /// What it says of `ip`; nothing when it has no record, or the record
    /// is not one of the layouts read.
    fn record(&self, ip: IpAddr) -> Owner {
        let Ok(found) = self.reader.lookup(ip) else {
            return Owner::default();
        };
        let str_at = |path: &[PathElement]| -> Option<String> {
            found.decode_path::<String>(path).ok().flatten()
        };
        let asn = found
            .decode_path::<u32>(&[PathElement::Key("autonomous_system_number")])
            .ok()
            .flatten()
            .or_else(|| {
                let key = [PathElement::Key("asn")];
                found
                    .decode_path::<u32>(&key)
                    .ok()
                    .flatten()
                    .or_else(|| str_at(&key).and_then(|s| parse_asn(&s)))
            });
        let org = str_at(&[PathElement::Key("autonomous_system_organization")])
            .or_else(|| str_at(&[PathElement::Key("as_name")]));
        let country = str_at(&[PathElement::Key("country"), PathElement::Key("iso_code")])
            .or_else(|| str_at(&[PathElement::Key("country_code")]))
            .or_else(|| {
                str_at(&[
                    PathElement::Key("registered_country"),
                    PathElement::Key("iso_code"),
                ])
            });
        Owner {
            asn: asn.filter(|n| *n != 0),
            as_org: org.and_then(|o| clean_org(&o)),
            country: country.and_then(|c| clean_country(&c)),
        }
    }
}

/// The file's bytes, if it is a regular file (not a folder, nor a device
/// that never ends).
fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut f = std::fs::File::open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// `AS64500` (IPinfo) as 64500.
fn parse_asn(s: &str) -> Option<u32> {
    let digits = s
        .strip_prefix("AS")
        .or_else(|| s.strip_prefix("as"))
        .unwrap_or(s);
    digits.parse().ok()
}

/// An AS name as it may be stored and shown: NFC, without control, bidi or
/// zero-width characters, white space collapsed, at most
/// [`MAX_ORG_CHARS`]; none when nothing is left. The database is not
/// ours: its text is treated as an attacker's would be.
pub fn clean_org(org: &str) -> Option<String> {
    let kept: String = org
        .nfc()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !crate::text::is_hazard(*c))
        .collect();
    let words: Vec<&str> = kept.split(' ').filter(|w| !w.is_empty()).collect();
    let joined = words.join(" ");
    let cut: String = joined
        .trim_start_matches(unicode_normalization::char::is_combining_mark)
        .chars()
        .take(MAX_ORG_CHARS)
        .collect();
    let cut = cut.trim_end().to_string();
    (!cut.is_empty()).then_some(cut)
}

/// An ISO 3166-1 alpha-2 code in upper case, or none.
pub fn clean_country(code: &str) -> Option<String> {
    (code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| code.to_ascii_uppercase())
}

/// The credit a database's licence asks of pages that show its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credit {
    pub text: &'static str,
    pub url: &'static str,
}

/// DB-IP Lite: CC BY 4.0, a link back on pages that show its results.
pub const DBIP: Credit = Credit {
    text: "IP Geolocation by DB-IP",
    url: "https://db-ip.com",
};
/// IPinfo Lite: CC BY-SA 4.0.
pub const IPINFO: Credit = Credit {
    text: "IP address data powered by IPinfo",
    url: "https://ipinfo.io",
};
/// GeoLite2: MaxMind's GeoLite End User License Agreement.
pub const MAXMIND: Credit = Credit {
    text: "This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com",
    url: "https://www.maxmind.com",
};

/// Whose database it is, by its metadata's `database_type`: DB-IP's say
/// `DBIP-ASN-Lite (compat=GeoLite2-ASN)`, so DB-IP is asked first.
fn credit_of(database_type: &str) -> Option<Credit> {
    let t = database_type.to_ascii_lowercase();
    if t.contains("dbip") || t.contains("db-ip") {
        Some(DBIP)
    } else if t.contains("ipinfo") {
        Some(IPINFO)
    } else if t.contains("geolite") || t.contains("geoip") {
        Some(MAXMIND)
    } else {
        None
    }
}

/// The databases configured: none, one or both.
#[derive(Debug, Default)]
pub struct Geo {
    asn: Option<Db>,
    country: Option<Db>,
}

impl Geo {
    /// Reads the databases named (I/O: config calls this, at the edge).
    pub fn open(asn: Option<&Path>, country: Option<&Path>) -> Result<Geo> {
        Ok(Geo {
            asn: asn.map(|p| Db::open(Kind::Asn, p)).transpose()?,
            country: country.map(|p| Db::open(Kind::Country, p)).transpose()?,
        })
    }

    /// No database configured: every owner is unknown.
    pub fn is_empty(&self) -> bool {
        self.asn.is_none() && self.country.is_none()
    }

    /// The databases configured.
    pub fn databases(&self) -> impl Iterator<Item = &Db> {
        self.asn.iter().chain(self.country.iter())
    }

    /// Who holds `ip`: the AS from the ASN database (else from the country
    /// database, if it says), the country from the country database (else
    /// from the ASN database). An IPv4-mapped IPv6 address is looked up as
    /// the IPv4 address it is. Pure: the databases are in memory.
    pub fn owner(&self, ip: IpAddr) -> Owner {
        if self.is_empty() {
            return Owner::default();
        }
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let of = |db: &Option<Db>| db.as_ref().map(|d| d.record(ip)).unwrap_or_default();
        let (a, c) = (of(&self.asn), of(&self.country));
        // The AS number and its name from one database, never mixed.
        let (asn, as_org) = match a.asn.is_some() || a.as_org.is_some() {
            true => (a.asn, a.as_org),
            false => (c.asn, c.as_org),
        };
        Owner {
            asn,
            as_org,
            country: c.country.or(a.country),
        }
    }

    /// The credits the databases' licences ask of pages that show their
    /// data, each once; none for a database of unknown origin.
    pub fn credits(&self) -> Vec<Credit> {
        let mut credits: Vec<Credit> = Vec::new();
        for d in self.databases() {
            if let Some(c) = credit_of(&d.reader.metadata().database_type)
                && !credits.contains(&c)
            {
                credits.push(c);
            }
        }
        credits
    }

    /// `run`: says once (remembered in the state's notes) that a database
    /// is stale, and forgets that it was said once it is refreshed.
    pub fn note_stale(&self, notes: &mut Notes, now: Secs) {
        for kind in [Kind::Asn, Kind::Country] {
            let db = self.databases().find(|d| d.kind == kind);
            match db.filter(|d| d.is_stale(now)) {
                Some(d) => {
                    notice::once(notes, kind.stale_note(), now, d.stale_message(now));
                }
                None => notice::ended(notes, kind.stale_note()),
            }
        }
    }

    /// The commands that write no state (`replay`, `show`, `export`): one
    /// warning per stale database and command, unless `said` (the notes of
    /// the state read, if any) shows a run has said it already, so that an
    /// export from cron does not repeat it every 15 minutes.
    pub fn warn_stale(&self, said: Option<&Notes>, now: Secs) {
        for d in self.databases().filter(|d| d.is_stale(now)) {
            if !said.is_some_and(|n| n.contains_key(d.kind.stale_note())) {
                notice::warn(d.stale_message(now));
            }
        }
    }
}

#[cfg(test)]
#[path = "../tests/support/mmdb.rs"]
mod mmdb;

#[cfg(test)]
mod tests {
    use super::mmdb::{Value, Writer, asn_record, country_record, ipinfo_record, map, s};
    use super::*;

    const NOW: Secs = 1_795_000_000;

    fn db(kind: Kind, w: &Writer) -> Db {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.mmdb");
        std::fs::write(&path, w.bytes()).unwrap();
        Db::open(kind, &path).unwrap()
    }

    fn geo(asn: Option<&Writer>, country: Option<&Writer>) -> Geo {
        Geo {
            asn: asn.map(|w| db(Kind::Asn, w)),
            country: country.map(|w| db(Kind::Country, w)),
        }
    }

    fn asn_db() -> Writer {
        let mut w = Writer::new("GeoLite2-ASN", NOW as u64);
        w.insert("203.0.113.0/24", &asn_record(64500, "Example Net"))
            .insert("2001:db8:1::/48", &asn_record(64501, "Example Six"));
        w
    }

    fn country_db() -> Writer {
        let mut w = Writer::new("GeoLite2-Country", NOW as u64);
        w.insert("203.0.113.0/25", &country_record("NL"))
            .insert("2001:db8::/32", &country_record("de"));
        w
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn looks_up_ipv4_ipv6_and_mapped_addresses() {
        let g = geo(Some(&asn_db()), Some(&country_db()));
        let v4 = g.owner(ip("203.0.113.45"));
        assert_eq!(v4.asn, Some(64500));
        assert_eq!(v4.as_org.as_deref(), Some("Example Net"));
        assert_eq!(v4.country.as_deref(), Some("NL"));
        assert_eq!(g.owner(ip("::ffff:203.0.113.45")), v4, "IPv4-mapped");
        let upper = g.owner(ip("203.0.113.200"));
        assert_eq!((upper.asn, upper.country), (Some(64500), None));
        let v6 = g.owner(ip("2001:db8:1:2::77"));
        assert_eq!(v6.asn, Some(64501));
        assert_eq!(v6.country.as_deref(), Some("DE"), "upper case");
        assert_eq!(g.owner(ip("198.51.100.1")), Owner::default());
        assert_eq!(g.owner(ip("2001:db9::1")), Owner::default());
        assert_eq!(Geo::default().owner(ip("203.0.113.45")), Owner::default());
    }

    #[test]
    fn reads_ipinfo_lite_from_either_file() {
        let mut w = Writer::new("ipinfo lite.mmdb", NOW as u64);
        w.insert(
            "203.0.113.0/24",
            &ipinfo_record("AS64500", "Example Net", "NL"),
        );
        for g in [geo(Some(&w), None), geo(None, Some(&w))] {
            let o = g.owner(ip("203.0.113.45"));
            assert_eq!(o.asn, Some(64500));
            assert_eq!(o.as_org.as_deref(), Some("Example Net"));
            assert_eq!(o.country.as_deref(), Some("NL"));
        }
    }

    #[test]
    fn credits_follow_the_databases_makers() {
        let made = |kind: &str| Writer::new(kind, NOW as u64);
        let g = geo(
            Some(&made("DBIP-ASN-Lite (compat=GeoLite2-ASN)")),
            Some(&made("DBIP-Country-Lite")),
        );
        assert_eq!(g.credits(), [DBIP], "once");
        let g = geo(Some(&made("GeoLite2-ASN")), Some(&made("ipinfo_lite")));
        assert_eq!(g.credits(), [MAXMIND, IPINFO]);
        assert_eq!(geo(Some(&made("home-made")), None).credits(), []);
        assert_eq!(Geo::default().credits(), []);
    }

    #[test]
    fn hostile_database_text_is_cleaned() {
        let mut w = Writer::new("GeoLite2-ASN", NOW as u64);
        let evil = format!("  Evil\u{202E}\u{1b}[31m \n Net {}", "x".repeat(200));
        w.insert(
            "203.0.113.0/24",
            &map(&[
                ("autonomous_system_number", Value::U32(0)),
                ("autonomous_system_organization", s(&evil)),
                ("country", map(&[("iso_code", s("N\u{202E}"))])),
            ]),
        );
        let o = geo(Some(&w), None).owner(ip("203.0.113.45"));
        assert_eq!(o.asn, None, "AS 0 is no AS");
        let org = o.as_org.unwrap();
        assert!(org.starts_with("Evil[31m Net xxx"), "{org:?}");
        assert_eq!(org.chars().count(), MAX_ORG_CHARS);
        assert_eq!(o.country, None);
        assert_eq!(clean_org(" \u{200B}\t"), None);
    }

    #[test]
    fn missing_or_foreign_files_are_errors_that_name_them() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("asn.mmdb");
        let e = format!("{:#}", Geo::open(Some(&missing), None).unwrap_err());
        assert!(e.contains("asn.mmdb") && e.contains("--geoip-asn"), "{e}");
        let text = dir.path().join("country.mmdb");
        std::fs::write(&text, "not a database\n").unwrap();
        let e = format!("{:#}", Geo::open(None, Some(&text)).unwrap_err());
        assert!(
            e.contains("country.mmdb") && e.contains("not a MaxMind DB"),
            "{e}"
        );
        let e = format!("{:#}", Geo::open(Some(dir.path()), None).unwrap_err());
        assert!(e.contains("not a regular file"), "{e}");
    }

    #[test]
    fn a_stale_database_is_noted_once_until_refreshed() {
        let old = Writer::new("GeoLite2-ASN", (NOW - STALE_AFTER - 86_400) as u64);
        let mut notes = Notes::new();
        let g = geo(Some(&old), Some(&country_db()));
        assert!(!g.databases().next().unwrap().is_stale(NOW - 2 * 86_400));
        g.note_stale(&mut notes, NOW);
        assert!(notes.contains_key("geoip-asn-stale"));
        assert!(!notes.contains_key("geoip-country-stale"), "fresh");
        geo(Some(&asn_db()), None).note_stale(&mut notes, NOW);
        assert!(notes.is_empty(), "refreshed: said again if it comes back");
    }
}
