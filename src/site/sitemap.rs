//! What tells crawlers about the pages: `sitemap.xml` with each page's
//! exact `lastmod` (a sitemap index over `sitemap-N.xml` once one file
//! would pass 50,000 URLs or 50 MB, the sitemaps.org limits),
//! `robots.txt` naming it, and `feed.atom` (RFC 4287) over the newest
//! changes. Pure.

use std::fmt::Write as _;

use super::manifest::{Manifest, Row};
use super::page::{Facts, esc};
use crate::clock::{Secs, format_rfc3339};

/// The sitemaps.org limits for one file.
pub const MAX_URLS: usize = 50_000;
pub const MAX_BYTES: usize = 50 * 1024 * 1024;

const URLSET_OPEN: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n";
const URLSET_CLOSE: &str = "</urlset>\n";

fn url_entry(loc: &str, lastmod: Secs) -> String {
    format!(
        "<url><loc>{}</loc><lastmod>{}</lastmod></url>\n",
        esc(loc),
        format_rfc3339(lastmod)
    )
}

/// The sitemap files, by name: `sitemap.xml` alone, or an index of that
/// name over `sitemap-1.xml`… when one would be too large. `max_urls` is
/// `MAX_URLS` but in tests.
pub fn sitemaps(m: &Manifest, f: &Facts, max_urls: usize) -> Vec<(String, String)> {
    let root = url_entry(&f.url, m.last_written().unwrap_or(f.now));
    let entries = std::iter::once((root, m.last_written().unwrap_or(f.now))).chain(m.pages().map(
        |r: &Row| {
            let loc = format!("{}{}", f.url, super::slug::page_path(&r.slug));
            (url_entry(&loc, r.lastmod), r.lastmod)
        },
    ));
    let mut files: Vec<(String, Secs)> = Vec::new();
    let (mut text, mut n, mut newest) = (String::from(URLSET_OPEN), 0, Secs::MIN);
    for (entry, lastmod) in entries {
        if n == max_urls || text.len() + entry.len() + URLSET_CLOSE.len() > MAX_BYTES {
            text.push_str(URLSET_CLOSE);
            files.push((
                std::mem::replace(&mut text, String::from(URLSET_OPEN)),
                newest,
            ));
            (n, newest) = (0, Secs::MIN);
        }
        text.push_str(&entry);
        n += 1;
        newest = newest.max(lastmod);
    }
    text.push_str(URLSET_CLOSE);
    files.push((text, newest));
    if files.len() == 1 {
        let (text, _) = files.pop().expect("one");
        return vec![("sitemap.xml".into(), text)];
    }
    let mut index = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    let mut out = Vec::new();
    for (i, (text, newest)) in files.into_iter().enumerate() {
        let name = format!("sitemap-{}.xml", i + 1);
        let _ = writeln!(
            index,
            "<sitemap><loc>{}</loc><lastmod>{}</lastmod></sitemap>",
            esc(&format!("{}{name}", f.url)),
            format_rfc3339(newest)
        );
        out.push((name, text));
    }
    index.push_str("</sitemapindex>\n");
    out.insert(0, ("sitemap.xml".into(), index));
    out
}

/// `robots.txt`: everything may be crawled; the sitemap is here.
pub fn robots(f: &Facts) -> String {
    format!("User-agent: *\nAllow: /\nSitemap: {}sitemap.xml\n", f.url)
}

/// Entries in the feed: the newest changes.
pub const FEED_ENTRIES: usize = 100;

/// `feed.atom`: the `FEED_ENTRIES` pages changed last, newest first, each
/// linking its page, whose URL is its id.
pub fn feed(m: &Manifest, f: &Facts) -> String {
    let mut newest: Vec<&Row> = m.pages().collect();
    newest.sort_by_key(|r| std::cmp::Reverse((r.lastmod, r.seq)));
    newest.truncate(FEED_ENTRIES);
    let updated = newest.first().map_or(f.now, |r| r.lastmod);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
         <title>{title}</title>\n<id>{self_url}</id>\n<updated>{}</updated>\n\
         <author><name>{title}</name></author>\n<generator>tweet-attacks</generator>\n\
         <link rel=\"self\" type=\"application/atom+xml\" href=\"{self_url}\"/>\n\
         <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
        format_rfc3339(updated),
        esc(&f.url),
        title = esc(&f.title),
        self_url = esc(&format!("{}feed.atom", f.url)),
    );
    for r in newest {
        let url = esc(&format!("{}{}", f.url, super::slug::page_path(&r.slug)));
        let tries = if r.tries == 1 { "try" } else { "tries" };
        let _ = write!(
            out,
            "<entry>\n<title>Brute-force attacker {source}</title>\n<id>{url}</id>\n\
             <updated>{}</updated>\n<link rel=\"alternate\" type=\"text/html\" href=\"{url}\"/>\n\
             <summary>{source}: {} failed login {tries}.</summary>\n</entry>\n",
            format_rfc3339(r.lastmod),
            r.tries,
            source = esc(&r.source),
        );
    }
    out.push_str("</feed>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::page::tests_support::{facts, manifest};

    #[test]
    fn one_sitemap_then_an_index() {
        let m = manifest(5);
        let f = facts();
        let one = sitemaps(&m, &f, MAX_URLS);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].0, "sitemap.xml");
        assert_eq!(
            one[0].1.matches("<url>").count(),
            6,
            "the root and five pages"
        );
        assert!(one[0].1.contains(
            "<loc>https://example.org/attacks/ip/198.51.0.3.html</loc><lastmod>2025-12-06T05:46:43Z</lastmod>"
        ), "{}", one[0].1);
        let split = sitemaps(&m, &f, 4);
        let names: Vec<&str> = split.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["sitemap.xml", "sitemap-1.xml", "sitemap-2.xml"]);
        assert!(split[0].1.contains("<sitemapindex") && split[0].1.contains("sitemap-2.xml"));
        let urls: usize = split[1..]
            .iter()
            .map(|(_, t)| t.matches("<url>").count())
            .sum();
        assert_eq!(urls, 6);
        assert!(robots(&f).contains("Sitemap: https://example.org/attacks/sitemap.xml\n"));
    }

    #[test]
    fn the_feed_holds_the_newest_changes() {
        let mut m = manifest(150);
        m.put("198.51.0.1", "198.51.0.1", 999, 1_900_000_000);
        let feed = feed(&m, &facts());
        assert_eq!(feed.matches("<entry>").count(), FEED_ENTRIES);
        let first = feed.find("<entry>").unwrap();
        assert!(feed[first..].starts_with("<entry>\n<title>Brute-force attacker 198.51.0.1<"));
        assert!(feed.contains("<updated>2030-03-17T17:46:40Z</updated>\n<author>"));
        m.remove("198.51.0.1", 1_900_000_001);
        assert!(!super::feed(&m, &facts()).contains("198.51.0.1<"));
    }
}
