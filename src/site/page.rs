//! An attacker's page: static HTML5, no script, nothing from another host,
//! readable at a phone's width, at most 4 KiB; and the shell and escaping
//! every page of the site shares. Pure: text in, text out.
//!
//! Attackers choose the user names and much else: every string from the
//! table is escaped (`esc`), and control characters, which HTML forbids,
//! are dropped.

use std::fmt::Write as _;

use crate::clock::{Secs, format_rfc3339};
use crate::render::Announcement;

/// What every page of the site says besides its attackers.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The site's title.
    pub title: String,
    /// Its public URL, ending in `/`.
    pub url: String,
    /// Where disputes go: a `mailto:` or web URL.
    pub contact: String,
    /// When this writing happens: the pages' "last updated".
    pub now: Secs,
}

/// The most a page may weigh: user names are cut, "+N more", to stay under.
pub const MAX_PAGE: usize = 4096;

pub use crate::text::markup as esc;

/// `2026-12-07 13:05 UTC`, in a `<time>` that machines read.
pub fn time(t: Secs) -> String {
    let s = format_rfc3339(t);
    format!(
        "<time datetime=\"{s}\">{} {} UTC</time>",
        &s[..10],
        &s[11..16]
    )
}

/// The small style every page carries inline: one column, readable on a phone.
const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:42em;margin:0 auto;\
padding:1em;color:#222;background:#fff}h1{font-size:1.4em;overflow-wrap:anywhere}\
dt{font-weight:bold}dd{margin:0 0 .6em 1em;overflow-wrap:anywhere}\
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.2em .4em;\
border-bottom:1px solid #ddd}footer{margin-top:2em;font-size:.9em;color:#555}";

/// The start of a page of the site: `title` and `description` already
/// escaped; `canonical` its URL; `up` the way back to the site's root
/// (`""` or `"../"`).
pub fn head(out: &mut String, title: &str, description: &str, canonical: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<meta name=\"description\" content=\"{description}\">\n\
         <link rel=\"canonical\" href=\"{}\">\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(canonical)
    );
}

/// The end of a page: its contact for disputes and when it was written.
pub fn foot(out: &mut String, f: &Facts, up: &str, extra: &str) {
    let shown = f.contact.strip_prefix("mailto:").unwrap_or(&f.contact);
    let _ = write!(
        out,
        "<footer>\n<p>To dispute an entry, write to <a href=\"{}\">{}</a>.</p>\n\
         <p>Last updated {}. <a href=\"{up}index.html\">All attackers</a>.{extra}</p>\n\
         </footer>\n</body>\n</html>\n",
        esc(&f.contact),
        esc(shown),
        time(f.now),
    );
}

fn service_name(s: &str) -> &str {
    match s {
        "sshd" => "SSH",
        "vsftpd" => "FTP",
        other => other,
    }
}

/// The services, as people name them: `SSH, FTP`.
pub fn services(a: &Announcement) -> String {
    let v: Vec<&str> = a.services.iter().map(|s| service_name(s)).collect();
    esc(&v.join(", "))
}

/// The page of `a`, at most `MAX_PAGE` bytes: as many user names as fit, the rest counted.
pub fn html(a: &Announcement, slug: &str, f: &Facts) -> String {
    let mut shown = a.users.len();
    loop {
        let page = html_with(a, slug, f, shown);
        if page.len() <= MAX_PAGE || shown == 0 {
            return page;
        }
        shown -= 1;
    }
}

fn html_with(a: &Announcement, slug: &str, f: &Facts, shown: usize) -> String {
    let source = a.source();
    let services = services(a);
    let tries = if a.tries == 1 { "try" } else { "tries" };
    let title = format!(
        "{source}: {} brute-force login {tries} ({services}) — {}",
        a.tries,
        esc(&f.title)
    );
    let description = format!(
        "{source} made {} failed login {tries} ({services}) between {} and {} UTC.",
        a.tries,
        &format_rfc3339(a.first)[..10],
        &format_rfc3339(a.last)[..10],
    );
    let mut out = String::with_capacity(MAX_PAGE);
    let url = format!("{}{}", f.url, super::slug::page_path(slug));
    head(&mut out, &title, &description, &url);
    let what = match a.prefix {
        Some(_) => "network",
        None => "address",
    };
    let _ = write!(
        out,
        "<main>\n<h1>{source}</h1>\n<p>Failed logins from this {what}, seen by {}.</p>\n<dl>\n",
        esc(&f.title)
    );
    let mut row = |term: &str, value: &str| {
        let _ = writeln!(out, "<dt>{term}</dt><dd>{value}</dd>");
    };
    match a.prefix {
        Some(p) => {
            row(
                "Network",
                &format!("{source} (an IPv6 /{p}, counted as one)"),
            );
            if let Some(seen) = a.seen {
                row("First address seen", &seen.to_string());
            }
        }
        None => row("Address", &source),
    }
    row("Services", &services);
    row("Tries", &a.tries.to_string());
    row("First seen", &time(a.first));
    row("Last seen", &time(a.last));
    row("User names tried", &users(a, shown));
    if let Some(owner) = owner(a) {
        row("Network owner", &owner);
    }
    let look = a.address();
    let _ = write!(
        out,
        "</dl>\n<p>This {what} elsewhere: \
         <a href=\"https://www.abuseipdb.com/check/{look}\">AbuseIPDB</a>, \
         <a href=\"https://isc.sans.edu/ipinfo/{look}\">ISC/DShield</a>.</p>\n</main>\n"
    );
    let json = format!(" <a href=\"{slug}.json\">JSON</a>.");
    foot(&mut out, f, "../", &json);
    out
}

/// The first `shown` publishable names, escaped, and how many more there were.
fn users(a: &Announcement, shown: usize) -> String {
    let shown = shown.min(a.users.len());
    let more = (a.users.len() - shown) as u64 + u64::from(a.users_more);
    let mut names: Vec<String> = a.users[..shown]
        .iter()
        .map(|u| format!("<code>{}</code>", esc(u)))
        .collect();
    match (names.is_empty(), more) {
        (true, 0) => "none recorded".into(),
        (true, n) => format!("{n} (not shown)"),
        (false, 0) => names.join(", "),
        (false, n) => {
            names.push(format!("+{n} more"));
            names.join(", ")
        }
    }
}

/// `AS64500 Example Net, NL`, when any of it is known.
fn owner(a: &Announcement) -> Option<String> {
    let o = &a.owner;
    let parts: Vec<String> = [
        o.asn.map(|n| format!("AS{n}")),
        o.as_org.as_deref().map(esc),
        o.country.as_deref().map(esc),
    ]
    .into_iter()
    .flatten()
    .collect();
    match (o.asn.is_some() || o.as_org.is_some(), parts.len()) {
        (_, 0) => None,
        (true, _) if o.country.is_some() => {
            let (country, rest) = parts.split_last().expect("two or more");
            Some(format!("{}, {country}", rest.join(" ")))
        }
        _ => Some(parts.join(" ")),
    }
}

/// What the site's tests share.
#[cfg(test)]
pub mod tests_support {
    use super::Facts;
    use crate::site::manifest::Manifest;

    /// A manifest of `n` pages, announced one a second.
    pub fn manifest(n: u64) -> Manifest {
        let mut m = Manifest::default();
        for i in 1..=n {
            let ip = format!("198.51.{}.{}", i / 256, i % 256);
            m.put((ip.parse().unwrap(), None), i, 1_765_000_000 + i as i64);
        }
        m
    }

    pub fn facts() -> Facts {
        Facts {
            title: "Attacks on example.org".into(),
            url: "https://example.org/attacks/".into(),
            contact: "mailto:abuse@example.org".into(),
            now: 1_765_112_400,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::facts;
    use super::*;
    use crate::render::Owner;
    use proptest::prelude::*;

    fn sample(users: Vec<String>) -> Announcement {
        Announcement {
            ip: "203.0.113.45".parse().unwrap(),
            tries: 1234,
            users,
            users_more: 2,
            services: vec!["sshd".into(), "vsftpd".into()],
            first: 1_765_000_000,
            last: 1_765_100_000,
            servers: 0,
            prefix: None,
            seen: None,
            owner: Owner::default(),
        }
    }

    #[test]
    fn a_page_says_what_the_issue_asks() {
        let mut a = sample(vec!["root".into(), "<b>admin</b>".into()]);
        a.owner = Owner {
            asn: Some(64500),
            as_org: Some("Example Net".into()),
            country: Some("NL".into()),
        };
        let p = html(&a, "203.0.113.45", &facts());
        assert!(p.contains("<title>203.0.113.45: 1234 brute-force"), "{p}");
        assert!(p.contains("<meta name=\"description\" content=\"203.0.113.45 made 1234"));
        assert!(p.contains("SSH, FTP") && p.contains("1234"));
        assert!(p.contains("2025-12-06 05:46 UTC"), "{p}");
        assert!(p.contains("<code>root</code>, <code>&lt;b&gt;admin&lt;/b&gt;</code>, +2 more"));
        assert!(p.contains("AS64500 Example Net, NL"));
        assert!(p.contains("https://www.abuseipdb.com/check/203.0.113.45"));
        assert!(p.contains("https://isc.sans.edu/ipinfo/203.0.113.45"));
        assert!(p.contains("href=\"mailto:abuse@example.org\">abuse@example.org</a>"));
        assert!(p.contains("Last updated <time datetime=\"2025-12-07T13:00:00Z\">"));
        assert!(p.contains("href=\"https://example.org/attacks/ip/203.0.113.45.html\""));
        assert!(
            !p.contains("<script") && !p.contains("src="),
            "nothing loaded"
        );
        assert!(p.len() <= MAX_PAGE);
    }

    #[test]
    fn a_network_names_its_first_address() {
        let mut a = sample(vec![]);
        a.ip = "2001:db8:1:2::".parse().unwrap();
        a.prefix = Some(64);
        a.seen = Some("2001:db8:1:2::77".parse().unwrap());
        let p = html(&a, "2001-db8-1-2--_64", &facts());
        assert!(p.contains("<title>2001:db8:1:2::/64:"));
        assert!(p.contains("<dd>2001:db8:1:2::77</dd>"));
        assert!(p.contains("abuseipdb.com/check/2001:db8:1:2::77"));
        assert!(p.contains("2 (not shown)"));
    }

    /// The text outside tags, with every character reference checked.
    fn text_is_inert(page: &str) -> Result<(), String> {
        let mut in_tag = false;
        let bytes = page.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'<' if in_tag => return Err(format!("< inside a tag at {i}")),
                b'<' => {
                    let rest = &page[i + 1..];
                    let known = [
                        "!DOCTYPE", "/", "html", "head", "meta", "title", "link", "style", "body",
                        "main", "h1", "p>", "dl", "dt", "dd", "code", "time", "a ", "footer",
                    ];
                    if !known.iter().any(|k| rest.starts_with(k)) {
                        return Err(format!(
                            "a tag no page makes at {i}: {}",
                            &rest[..rest.len().min(20)]
                        ));
                    }
                    in_tag = true;
                }
                b'>' if in_tag => in_tag = false,
                // The style sheet holds none either.
                b'>' => return Err(format!("raw > at {i}")),
                b'&' => {
                    let rest = &page[i..];
                    if !["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                        .iter()
                        .any(|r| rest.starts_with(r))
                    {
                        return Err(format!("bare & at {i}"));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn hostile_names_never_make_markup_and_a_page_stays_small(
            users in proptest::collection::vec("\\PC{0,48}|[<>&\"' a-z=/]{0,48}", 0..=10),
            more in 0u32..5000,
            org in proptest::option::of("\\PC{0,80}"),
        ) {
            let mut a = sample(users);
            a.users_more = more;
            a.owner.as_org = org;
            let p = html(&a, "203.0.113.45", &facts());
            prop_assert!(p.len() <= MAX_PAGE, "{} bytes", p.len());
            if let Err(e) = text_is_inert(&p) {
                return Err(TestCaseError::fail(format!("{e}\n{p}")));
            }
            // Every name is counted: shown, or in the "+N more".
            let shown = p.matches("<code>").count();
            let total = a.users.len() as u64 + u64::from(more);
            if shown as u64 != total {
                let more_n = total - shown as u64;
                let counted = p.contains(&format!("+{more_n} more"))
                    || p.contains(&format!("{more_n} (not shown)"));
                prop_assert!(counted, "{}", p);
            }
        }
    }
}
