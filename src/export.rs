//! The attacker table as files other admins and tools can use: a blocklist,
//! CSV, JSON and an Atom feed of announcements. Pure: text in, text out.

use std::fmt::Write as _;
use std::net::IpAddr;

use serde::Serialize;

use crate::clock::{Secs, format_rfc3339};
use crate::table::{Attacker, Table};

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

/// Attackers last seen at or after `since` (announced at or after it, for
/// Atom), most tries first.
fn selected<'t>(
    table: &'t mut Table<'_>,
    format: Format,
    since: Secs,
) -> Vec<(&'t IpAddr, &'t Attacker)> {
    table
        .ranked()
        .into_iter()
        .filter(|(_, a)| match format {
            Format::Atom => a.announced.is_some_and(|t| t >= since),
            _ => a.last >= since,
        })
        .collect()
}

pub fn export(table: &mut Table, format: Format, since: Secs, now: Secs) -> String {
    let rows = selected(table, format, since);
    match format {
        Format::Blocklist => rows
            .iter()
            .map(|(ip, a)| match a.net {
                // A network counted as one attacker is blocked as one.
                Some((prefix, _)) => format!("{ip}/{prefix}\n"),
                None => format!("{ip}\n"),
            })
            .collect(),
        Format::Csv => csv(&rows),
        Format::Json => json(&rows),
        Format::Atom => atom(&rows, now),
    }
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

fn csv(rows: &[(&IpAddr, &Attacker)]) -> String {
    let mut out = String::from("ip,tries,services,first,last,announced,users\n");
    for (ip, a) in rows {
        let _ = writeln!(
            out,
            "{ip},{},{},{},{},{},{}",
            a.tries(),
            a.services.names().join(" "),
            format_rfc3339(a.first),
            format_rfc3339(a.last),
            a.announced.map(format_rfc3339).unwrap_or_default(),
            csv_field(&a.users.join(" "))
        );
    }
    out
}

#[derive(Serialize)]
struct Row<'a> {
    ip: &'a IpAddr,
    tries: u64,
    services: Vec<&'static str>,
    users: &'a [String],
    first: String,
    last: String,
    announced: Option<String>,
}

fn json(rows: &[(&IpAddr, &Attacker)]) -> String {
    let rows: Vec<Row> = rows
        .iter()
        .map(|(ip, a)| Row {
            ip,
            tries: a.tries(),
            services: a.services.names(),
            users: &a.users,
            first: format_rfc3339(a.first),
            last: format_rfc3339(a.last),
            announced: a.announced.map(format_rfc3339),
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&rows).expect("plain data serializes");
    out.push('\n');
    out
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn atom(rows: &[(&IpAddr, &Attacker)], now: Secs) -> String {
    let updated = rows
        .iter()
        .filter_map(|(_, a)| a.announced)
        .max()
        .unwrap_or(now);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
         <title>Brute-force attackers</title>\n\
         <id>urn:tweet-attacks:feed</id>\n\
         <updated>{}</updated>\n\
         <generator>tweet-attacks</generator>\n",
        format_rfc3339(updated)
    );
    // Newest announcement first, as feed readers expect.
    let mut rows = rows.to_vec();
    rows.sort_by_key(|(ip, a)| (std::cmp::Reverse(a.announced), **ip));
    for (ip, a) in rows {
        let announced = a.announced.unwrap_or(now);
        let services = a.services.names().join(", ");
        let summary = format!(
            "{ip}: {} tries against {services} between {} and {}. Users tried: {}.",
            a.tries(),
            format_rfc3339(a.first),
            format_rfc3339(a.last),
            if a.users.is_empty() {
                "-".to_string()
            } else {
                a.users.join(", ")
            }
        );
        let _ = write!(
            out,
            "<entry>\n<title>{}</title>\n<id>urn:tweet-attacks:{}:{announced}</id>\n\
             <updated>{}</updated>\n<summary>{}</summary>\n</entry>\n",
            xml_escape(&format!("Brute-force attacker {ip}")),
            xml_escape(&ip.to_string()),
            format_rfc3339(announced),
            xml_escape(&summary)
        );
    }
    out.push_str("</feed>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn table() -> Table<'static> {
        let mut t = Table::default();
        t.set_rules(crate::table::Rules {
            ipv6_prefix: 128,
            ..Default::default()
        });
        for (ip, n, user, at) in [
            ("203.0.113.1", 9, "=cmd|' /C calc'!A0", 1000),
            ("203.0.113.2", 3, "<script>", 50),
            ("2001:db8::1", 6, "root", 2000),
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
        t
    }

    #[test]
    fn blocklist_is_one_address_per_line_since() {
        assert_eq!(
            export(&mut table(), Format::Blocklist, 0, 0),
            "203.0.113.1\n2001:db8::1\n203.0.113.2\n"
        );
        assert_eq!(
            export(&mut table(), Format::Blocklist, 900, 0),
            "203.0.113.1\n2001:db8::1\n"
        );
    }

    #[test]
    fn csv_quotes_and_defangs_formulas() {
        let out = export(&mut table(), Format::Csv, 0, 0);
        let mut lines = out.lines();
        assert_eq!(
            lines.next(),
            Some("ip,tries,services,first,last,announced,users")
        );
        let first = lines.next().unwrap();
        assert!(first.starts_with("203.0.113.1,9,sshd,"), "{first}");
        assert!(first.ends_with(",'=cmd|' /C calc'!A0"), "{first}");
        assert_eq!(out.lines().count(), 4);
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
    }

    #[test]
    fn json_is_an_array_of_the_table() {
        let v: serde_json::Value =
            serde_json::from_str(&export(&mut table(), Format::Json, 0, 0)).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 3);
        assert_eq!(v[0]["ip"], "203.0.113.1");
        assert_eq!(v[0]["tries"], 9);
        assert_eq!(v[2]["announced"], serde_json::Value::Null);
    }

    #[test]
    fn atom_has_one_escaped_entry_per_announced_attacker() {
        let out = export(&mut table(), Format::Atom, 0, 5000);
        assert_eq!(out.matches("<entry>").count(), 2);
        assert!(!out.contains("<script>"));
        let newest = out.find("2001:db8::1").unwrap();
        assert!(newest < out.find("203.0.113.1").unwrap(), "newest first");
        assert!(
            out.contains("<updated>1970-01-01T00:35:00Z</updated>"),
            "{out}"
        );
        assert_eq!(
            export(&mut table(), Format::Atom, 2050, 5000)
                .matches("<entry>")
                .count(),
            1
        );
    }
}
