//! The attacker table as files other admins and tools can use: a blocklist,
//! CSV, JSON and an Atom feed of announcements, written as the table is read.
//!
//! Exports are public too (doc/REFERENCE.md serves the feed from /var/www), so
//! they follow the posts' rules: user names go through `Privacy`; internal
//! addresses (`scope`) are in the CSV and JSON, marked, but never in the
//! feed or the blocklist; and the blocklist, which feeds a firewall, never
//! holds this host's own or ignored addresses either.

use std::fmt::Write as _;
use std::io;
use std::net::IpAddr;

use serde::Serialize;

use crate::clock::{Secs, format_rfc3339};
use crate::decide::Policy;
use crate::geoip::Geo;
use crate::render::{Announcement, Owner, Privacy, defuse, render};
use crate::scope::is_global;
use crate::table::{Attacker, Table};
use crate::text::markup as xml_escape;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One address per line (ipset, nftables, a firewall's include file).
    Blocklist,
    /// The table, one row per attacker.
    Csv,
    /// The table, as a JSON array.
    Json,
    /// An Atom feed with one entry per announced attacker.
    Atom,
}

/// What to export, and by which rules.
pub struct Options<'a> {
    pub format: Format,
    /// Oldest last try (for Atom: announcement) included.
    pub since: Secs,
    /// Its ignore list (loopback, own, `--ignore`) is left out of the blocklist.
    pub policy: &'a Policy,
    /// Fewest tries for the blocklist.
    pub min_tries: u64,
    pub privacy: &'a Privacy,
    /// Atom: the feed's author, and the URL it is served at.
    pub author: &'a str,
    pub feed_url: Option<&'a str>,
    /// Atom without `feed_url`: the host whose feed it is, for an id no other host's feed has.
    pub host: &'a str,
    /// Who holds each address: `asn`, `as_org` and `country` in CSV and
    /// JSON, and the owner in the feed's posts.
    pub geo: &'a Geo,
}

/// One exported attacker: its numbers, and only the user names the posts may show.
struct Row<'t> {
    ip: &'t IpAddr,
    a: &'t Attacker,
    public: Announcement,
}

/// Attackers last seen at or after `since` (announced at or after it, for
/// Atom; and for the blocklist, with enough tries and not ignored). The
/// feed and the blocklist name global addresses only: a state saved before
/// internal ones were held back may mark some announced.
fn wanted(ip: &IpAddr, a: &Attacker, o: &Options) -> bool {
    match o.format {
        Format::Atom => a.announced.is_some_and(|t| t >= o.since) && is_global(*ip),
        Format::Blocklist => {
            is_global(*ip)
                && a.last >= o.since
                && a.tries() >= o.min_tries
                && !match a.net {
                    Some((prefix, _)) => o.policy.ignores_network(ip, prefix),
                    None => o.policy.ignores(ip),
                }
        }
        Format::Csv | Format::Json => a.last >= o.since,
    }
}

/// Writes the export to `out`, most tries first, one attacker at a time (the
/// Atom feed holds its entries, the announced attackers, to sort them).
pub fn export(table: &Table, o: &Options, now: Secs, out: &mut impl io::Write) -> io::Result<()> {
    if o.format == Format::Atom {
        let mut announced = Vec::new();
        table.try_for_each_ranked(|ip, a| {
            if wanted(&ip, a, o) {
                announced.push((ip, a.clone()));
            }
            Ok::<_, io::Error>(())
        })?;
        let rows: Vec<Row> = announced
            .iter()
            .map(|(ip, a)| Row {
                ip,
                a,
                public: Announcement::of(*ip, a, o.privacy).owned_by(o.geo),
            })
            .collect();
        return out.write_all(atom(&rows, o, now).as_bytes());
    }
    match o.format {
        Format::Csv => out.write_all(CSV_HEADER.as_bytes())?,
        Format::Json => out.write_all(b"[")?,
        _ => {}
    }
    let mut n = 0u64;
    table.try_for_each_ranked(|ip, a| -> io::Result<()> {
        if !wanted(&ip, a, o) {
            return Ok(());
        }
        let row = Row {
            ip: &ip,
            a,
            public: Announcement::of(ip, a, o.privacy).owned_by(o.geo),
        };
        match o.format {
            // A network counted as one attacker is blocked as one.
            Format::Blocklist => writeln!(out, "{}", a.source(ip))?,
            Format::Csv => out.write_all(csv_row(&row).as_bytes())?,
            Format::Json => {
                out.write_all(if n == 0 { b"\n" } else { b",\n" })?;
                // Pretty, and indented as an element of the array.
                let text = serde_json::to_string_pretty(&json_row(&row))?;
                for (i, line) in text.lines().enumerate() {
                    if i > 0 {
                        out.write_all(b"\n")?;
                    }
                    out.write_all(b"  ")?;
                    out.write_all(line.as_bytes())?;
                }
            }
            Format::Atom => unreachable!("written above"),
        }
        n += 1;
        Ok(())
    })?;
    if o.format == Format::Json {
        out.write_all(if n == 0 { b"]\n" } else { b"\n]\n" })?;
    }
    Ok(())
}

/// `export` into a string, for tests.
#[cfg(test)]
fn export_text(table: &Table, o: &Options, now: Secs) -> String {
    let mut out = Vec::new();
    export(table, o, now, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// A CSV field: quoted when needed, and with a leading `'` where a
/// spreadsheet would otherwise run attacker text as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The owner's columns come last: readers of the columns before them are unchanged.
const CSV_HEADER: &str =
    "ip,tries,services,first,last,announced,users,users_more,internal,asn,as_org,country\n";

fn csv_row(Row { ip, a, public }: &Row) -> String {
    let owner = &public.owner;
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{}\n",
        a.source(**ip),
        a.tries(),
        a.services.names().join(" "),
        format_rfc3339(a.first),
        format_rfc3339(a.last),
        a.announced.map(format_rfc3339).unwrap_or_default(),
        csv_field(&public.users.join(" ")),
        public.users_more,
        !is_global(**ip),
        owner.asn.map(|n| n.to_string()).unwrap_or_default(),
        csv_field(owner.as_org.as_deref().unwrap_or_default()),
        owner.country.as_deref().unwrap_or_default(),
    )
}

#[derive(Serialize)]
struct JsonRow<'a> {
    ip: &'a IpAddr,
    /// A network counted as one: its prefix length (with `ip`, its first
    /// address), and the first address seen in it, as `run --json` says.
    #[serde(skip_serializing_if = "Option::is_none")]
    prefix: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seen: Option<IpAddr>,
    tries: u64,
    services: Vec<&'static str>,
    /// Only names the posts may show; `users_more` counts the others.
    users: &'a [String],
    users_more: u32,
    first: String,
    last: String,
    announced: Option<String>,
    /// Not a global address: counted, never announced.
    internal: bool,
    /// `asn`, `as_org` and `country`, each when known.
    #[serde(flatten)]
    owner: &'a Owner,
}

fn json_row<'r>(Row { ip, a, public }: &'r Row) -> JsonRow<'r> {
    JsonRow {
        ip,
        prefix: a.net.map(|(prefix, _)| prefix),
        seen: a.net.map(|(_, seen)| seen),
        tries: a.tries(),
        services: a.services.names(),
        users: &public.users,
        users_more: public.users_more,
        first: format_rfc3339(a.first),
        last: format_rfc3339(a.last),
        announced: a.announced.map(format_rfc3339),
        internal: !is_global(**ip),
        owner: &public.owner,
    }
}

/// An Atom 1.0 feed (RFC 4287): the feed has the author that every entry
/// lacks, and each entry carries the post's text as its content (an entry
/// without content needs an alternate link, and there is no page to link).
/// Its ids are the feed's own and an entry's stays when its text changes.
fn atom(rows: &[Row], o: &Options, now: Secs) -> String {
    // A feed's id is its own: the URL it is served at, else one derived
    // from the host, so two hosts' feeds merged by a reader stay apart.
    let feed_id = match o.feed_url {
        Some(url) => url.to_string(),
        None => uuid_urn(&format!("tweet-attacks feed of {}", o.host)),
    };
    let updated = rows.iter().map(entry_updated).max().unwrap_or(now);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
         <title>Brute-force attackers</title>\n\
         <id>{}</id>\n\
         <updated>{}</updated>\n\
         <author><name>{}</name></author>\n\
         <generator>tweet-attacks</generator>\n",
        xml_escape(&feed_id),
        format_rfc3339(updated),
        xml_escape(o.author),
    );
    if let Some(url) = o.feed_url {
        let _ = writeln!(
            out,
            "<link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>",
            xml_escape(url)
        );
    }
    // Newest announcement first, as feed readers expect.
    let mut rows: Vec<&Row> = rows.iter().collect();
    rows.sort_by_key(|r| (std::cmp::Reverse(r.a.announced), *r.ip));
    for row in rows {
        let Row { ip, a, public } = row;
        let announced = a.announced.unwrap_or(now);
        let services = a.services.names().join(", ");
        // The names the post shows, defused as it defuses them.
        let shown: Vec<String> = public.users.iter().map(|u| defuse(u)).collect();
        let users = match (shown.is_empty(), public.users_more) {
            (true, 0) => "-".to_string(),
            (true, n) => format!("{n} withheld"),
            (false, 0) => shown.join(", "),
            (false, n) => format!("{} and {n} more", shown.join(", ")),
        };
        let summary = format!(
            "{ip}: {} tries against {services} between {} and {}. Users tried: {users}.",
            a.tries(),
            format_rfc3339(a.first),
            format_rfc3339(a.last),
        );
        let _ = write!(
            out,
            "<entry>\n<title>{}</title>\n<id>{}</id>\n\
             <updated>{}</updated>\n<summary>{}</summary>\n\
             <content type=\"text\">{}</content>\n</entry>\n",
            xml_escape(&format!("Brute-force attacker {}", a.source(**ip))),
            uuid_urn(&format!("{feed_id} {ip} {announced}")),
            format_rfc3339(entry_updated(row)),
            xml_escape(&summary),
            xml_escape(&render(public)),
        );
    }
    out.push_str("</feed>\n");
    out
}

/// When an entry last changed: its announcement, or a later try, which
/// changes the text (tries, span, names) that the entry carries.
fn entry_updated(r: &Row) -> Secs {
    r.a.announced.unwrap_or(r.a.last).max(r.a.last)
}

/// A `urn:uuid:` (RFC 9562 version 8, custom) named by `name`: the same
/// name gives the same id on every export, another name another id.
fn uuid_urn(name: &str) -> String {
    let hi = crate::hash::fnv1a(name.as_bytes());
    let lo = crate::hash::fnv1a(format!("{name}\u{0}{hi:x}").as_bytes());
    let mut b = (u128::from(hi) << 64) | u128::from(lo);
    b = (b & !(0xf << 76)) | (0x8 << 76);
    b = (b & !(0x3 << 62)) | (0x2 << 62);
    format!(
        "urn:uuid:{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        b >> 96,
        (b >> 80) & 0xffff,
        (b >> 64) & 0xffff,
        (b >> 48) & 0xffff,
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::default_ignores;
    use crate::parse::parse;

    fn table() -> Table {
        let mut t = Table::default();
        t.set_rules(crate::table::Rules {
            ipv6_prefix: 128,
            ..Default::default()
        });
        for (ip, n, user, at) in [
            ("203.0.113.1", 9, "=cmd|' /C calc'!A0", 1000),
            ("203.0.113.2", 3, "<script>", 50),
            ("2001:db8::1", 6, "root", 2000),
            ("127.0.0.1", 40, "admin", 2000),
            ("198.51.100.9", 12, "Tr0ub4dor&3x1", 2000),
            ("10.0.0.9", 8, "admin", 2000),
            ("203.0.113.7", 7, "evil.tld", 2000),
        ] {
            let line = format!(
                "Nov 26 00:00:01 web01 sshd[1]: message repeated {n} times: [ Failed password for invalid user {user} from {ip} port 22 ssh2]"
            );
            t.record(&parse(line.as_bytes()).unwrap(), at);
        }
        t.get_mut(&"203.0.113.1".parse().unwrap())
            .unwrap()
            .announced = Some(1100);
        t.get_mut(&"2001:db8::1".parse().unwrap())
            .unwrap()
            .announced = Some(2100);
        // Announced by a version that did not hold internal addresses back.
        t.get_mut(&"10.0.0.9".parse().unwrap()).unwrap().announced = Some(2200);
        t.get_mut(&"203.0.113.7".parse().unwrap())
            .unwrap()
            .announced = Some(2050);
        t
    }

    fn policy() -> Policy {
        let mut ignore = default_ignores();
        ignore.push("198.51.100.0/24".parse().unwrap());
        Policy {
            threshold: 5,
            ignore,
            active_since: None,
        }
    }

    /// Exports `table()` with the posts' default rules: `root` is a local account.
    fn export_with(format: Format, since: Secs, min_tries: u64, show_local: bool) -> String {
        let privacy = Privacy::new(["root".to_string()], show_local);
        let o = Options {
            format,
            since,
            policy: &policy(),
            min_tries,
            privacy: &privacy,
            author: "tweet-attacks on web01",
            feed_url: Some("https://example.org/attackers.atom"),
            host: "web01",
            geo: &Geo::default(),
        };
        export_text(&table(), &o, 5000)
    }

    #[test]
    fn blocklist_leaves_out_loopback_ignored_and_few_tries() {
        assert_eq!(
            export_with(Format::Blocklist, 0, 0, false),
            "203.0.113.1\n203.0.113.7\n2001:db8::1\n203.0.113.2\n",
            "neither loopback, 10.0.0.9 (internal) nor the ignored 198.51.100.9"
        );
        assert_eq!(
            export_with(Format::Blocklist, 0, 7, false),
            "203.0.113.1\n203.0.113.7\n",
            "--min-tries 7"
        );
        assert_eq!(
            export_with(Format::Blocklist, 900, 0, false),
            "203.0.113.1\n203.0.113.7\n2001:db8::1\n"
        );
    }

    #[test]
    fn csv_withholds_what_posts_withhold_and_defangs_formulas() {
        let out = export_with(Format::Csv, 0, 0, false);
        let mut lines = out.lines();
        assert_eq!(
            lines.next(),
            Some(
                "ip,tries,services,first,last,announced,users,users_more,internal,asn,as_org,country"
            )
        );
        assert!(!out.contains("calc") && !out.contains("Tr0ub4dor"), "{out}");
        assert!(!out.contains("root"), "a local account: {out}");
        let first = lines.next().unwrap();
        assert!(first.starts_with("127.0.0.1,40,sshd,"), "{first}");
        assert!(first.ends_with(",admin,0,true,,,"), "internal: {first}");
        assert!(
            out.contains("\n10.0.0.9,8,sshd,"),
            "counted and shown: {out}"
        );
        assert!(
            out.lines()
                .any(|l| l.starts_with("10.0.0.9,") && l.ends_with(",admin,0,true,,,")),
            "{out}"
        );
        assert!(out.contains("\n2001:db8::1,6,sshd,"), "{out}");
        assert!(
            out.contains(",,1,false,,,\n"),
            "the withheld name is counted: {out}"
        );
        assert!(!out.contains("evil"), "not on the list: {out}");
        assert_eq!(out.lines().count(), 8);
        let shown = export_with(Format::Csv, 0, 0, true);
        assert!(shown.contains(",root,0,false,,,\n"), "opted in: {shown}");
        assert!(!shown.contains("Tr0ub4dor"), "{shown}");
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
    }

    #[test]
    fn json_is_an_array_of_the_table_without_withheld_names() {
        let v: serde_json::Value =
            serde_json::from_str(&export_with(Format::Json, 0, 0, false)).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 7);
        assert_eq!(v[0]["ip"], "127.0.0.1");
        assert_eq!(v[0]["internal"], true);
        assert_eq!(v[1]["ip"], "198.51.100.9");
        assert_eq!(v[1]["internal"], false);
        assert_eq!(v[1]["users"], serde_json::json!([]));
        assert_eq!(v[1]["users_more"], 1);
        assert_eq!(v[2]["tries"], 9);
        assert_eq!(v[3]["ip"], "10.0.0.9");
        assert_eq!(v[3]["internal"], true);
        assert_eq!(v[3]["users"], serde_json::json!(["admin"]));
        assert_eq!(v[6]["announced"], serde_json::Value::Null);
    }

    #[test]
    fn atom_has_author_link_and_one_escaped_entry_per_announced_attacker() {
        let out = export_with(Format::Atom, 0, 0, false);
        assert_eq!(out.matches("<entry>").count(), 3);
        assert!(
            !out.contains("10.0.0.9"),
            "internal, though announced: {out}"
        );
        assert!(!out.contains("evil"), "not on the list: {out}");
        assert!(out.contains("<author><name>tweet-attacks on web01</name></author>"));
        assert!(out.contains(
            "<link rel=\"self\" type=\"application/atom+xml\" href=\"https://example.org/attackers.atom\"/>"
        ));
        assert_eq!(out.matches("<content type=\"text\">").count(), 3);
        assert!(!out.contains("<script>") && !out.contains("root"), "{out}");
        let newest = out.find("2001:db8::1").unwrap();
        assert!(newest < out.find("203.0.113.1").unwrap(), "newest first");
        assert!(
            out.contains("<updated>1970-01-01T00:35:00Z</updated>"),
            "{out}"
        );
        assert_eq!(
            export_with(Format::Atom, 2060, 0, false)
                .matches("<entry>")
                .count(),
            1
        );
    }

    /// The whole table as Atom, for the feed of `host`, served at `feed_url`.
    fn atom_of(t: &Table, privacy: &Privacy, host: &str, feed_url: Option<&str>) -> String {
        let o = Options {
            format: Format::Atom,
            since: 0,
            policy: &policy(),
            min_tries: 0,
            privacy,
            author: "a",
            feed_url,
            host,
            geo: &Geo::default(),
        };
        export_text(t, &o, 5000)
    }

    #[test]
    fn atom_summary_and_content_show_the_same_defused_names() {
        // A local account published by choice is the one name here that
        // could be a link: both parts of the entry defuse it.
        let privacy = Privacy::new(["evil.tld".to_string()], true);
        let out = atom_of(&table(), &privacy, "web01", None);
        assert!(!out.contains("evil.tld"), "{out}");
        let entry = &out[out.find("203.0.113.7:").unwrap()..];
        let summary = &entry[..entry.find("</summary>").unwrap()];
        let content = &entry[entry.find("<content").unwrap()..];
        assert!(
            summary.contains("Users tried: evil\u{2024}tld."),
            "{summary}"
        );
        assert!(
            content.contains("Users tried: evil\u{2024}tld."),
            "{content}"
        );
        let hidden = export_with(Format::Atom, 0, 0, false);
        assert!(hidden.contains("Users tried: 1 withheld."), "{hidden}");
    }

    #[test]
    fn atom_ids_are_the_feeds_own_and_updated_moves_with_the_text() {
        let privacy = Privacy::new(["root".to_string()], false);
        let feed = |t: &Table, host: &str, feed_url| atom_of(t, &privacy, host, feed_url);
        let id = |out: &str| out[out.find("<id>").unwrap()..out.find("</id>").unwrap()].to_string();
        let t = table();
        let web01 = feed(&t, "web01", None);
        assert!(id(&web01).starts_with("<id>urn:uuid:"), "{web01}");
        assert_eq!(id(&web01), id(&feed(&t, "web01", None)), "stable");
        let web02 = feed(&t, "web02", None);
        assert_ne!(id(&web01), id(&web02), "one per host");
        assert!(!web01.contains("urn:tweet-attacks"), "{web01}");
        let entry_ids =
            |out: &str| -> Vec<String> { out.split("<entry>").skip(1).map(id).collect() };
        assert!(
            entry_ids(&web01)
                .iter()
                .all(|e| !entry_ids(&web02).contains(e)),
            "entries of two hosts' feeds stay apart"
        );
        let served = feed(&t, "web01", Some("https://example.org/a.atom"));
        assert_eq!(id(&served), "<id>https://example.org/a.atom");

        // The entry carries the post's text; a try after the announcement
        // changes that text, and moves the entry's <updated> and the feed's.
        let entry = |out: &str| {
            let at = out.find("203.0.113.1</title>").unwrap();
            out[at..at + out[at..].find("</entry>").unwrap()].to_string()
        };
        let before = entry(&web01);
        let public = Announcement::of(
            "203.0.113.1".parse().unwrap(),
            &t.get(&"203.0.113.1".parse().unwrap()).unwrap(),
            &privacy,
        );
        assert!(before.contains(&xml_escape(&render(&public))), "{before}");
        assert!(
            before.contains("<updated>1970-01-01T00:18:20Z</updated>"),
            "{before}"
        );
        let mut t = t;
        let line = "Nov 26 00:00:01 web01 sshd[1]: Failed password for invalid user x from 203.0.113.1 port 22 ssh2";
        t.record(&parse(line.as_bytes()).unwrap(), 4000);
        let after = feed(&t, "web01", None);
        assert_ne!(entry(&after), before);
        assert!(
            entry(&after).contains("<updated>1970-01-01T01:06:40Z</updated>"),
            "{after}"
        );
        assert!(
            after.contains("<updated>1970-01-01T01:06:40Z</updated>\n<author>"),
            "{after}"
        );
        assert_eq!(
            entry_ids(&after)[0],
            entry_ids(&web01)[0],
            "one entry, still"
        );
    }
}
