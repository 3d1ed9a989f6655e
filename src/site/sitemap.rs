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

/// The sitemap files, handed to `put` by name as each is full, so that
/// one at a time is held: `sitemap.xml` alone, or `sitemap-1.xml`… then
/// `sitemap.xml` as their index, when one file would be too large.
/// `max_urls` is `MAX_URLS` but in tests. Returns how many split files
/// there are (0 when `sitemap.xml` stands alone).
pub fn sitemaps<E>(
    m: &Manifest,
    f: &Facts,
    max_urls: usize,
    put: &mut dyn FnMut(&str, &str) -> Result<(), E>,
) -> Result<usize, E> {
    let site_lastmod = m.last_written().unwrap_or(f.now);
    let entries = std::iter::once((url_entry(&f.url, site_lastmod), site_lastmod)).chain(
        m.pages().map(|r: &Row| {
            let loc = format!("{}{}", f.url, super::slug::page_path(&r.slug()));
            (url_entry(&loc, r.lastmod), r.lastmod)
        }),
    );
    // The newest lastmod of each split file written, for the index.
    let mut split: Vec<Secs> = Vec::new();
    let (mut text, mut n, mut newest) = (String::from(URLSET_OPEN), 0, Secs::MIN);
    for (entry, lastmod) in entries {
        if n == max_urls || text.len() + entry.len() + URLSET_CLOSE.len() > MAX_BYTES {
            text.push_str(URLSET_CLOSE);
            split.push(newest);
            put(&format!("sitemap-{}.xml", split.len()), &text)?;
            (text, n, newest) = (String::from(URLSET_OPEN), 0, Secs::MIN);
        }
        text.push_str(&entry);
        n += 1;
        newest = newest.max(lastmod);
    }
    text.push_str(URLSET_CLOSE);
    if split.is_empty() {
        put("sitemap.xml", &text)?;
        return Ok(0);
    }
    split.push(newest);
    put(&format!("sitemap-{}.xml", split.len()), &text)?;
    let mut index = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for (i, newest) in split.iter().enumerate() {
        let _ = writeln!(
            index,
            "<sitemap><loc>{}</loc><lastmod>{}</lastmod></sitemap>",
            esc(&format!("{}sitemap-{}.xml", f.url, i + 1)),
            format_rfc3339(*newest)
        );
    }
    index.push_str("</sitemapindex>\n");
    put("sitemap.xml", &index)?;
    Ok(split.len())
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
        let url = esc(&format!("{}{}", f.url, super::slug::page_path(&r.slug())));
        let tries = if r.tries == 1 { "try" } else { "tries" };
        let _ = write!(
            out,
            "<entry>\n<title>Brute-force attacker {source}</title>\n<id>{url}</id>\n\
             <updated>{}</updated>\n<link rel=\"alternate\" type=\"text/html\" href=\"{url}\"/>\n\
             <summary>{source}: {} failed login {tries}.</summary>\n</entry>\n",
            format_rfc3339(r.lastmod),
            r.tries,
            source = esc(&r.source()),
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
        let all = |max| {
            let mut files = Vec::new();
            let split = sitemaps(&m, &f, max, &mut |name: &str, text: &str| {
                files.push((name.to_string(), text.to_string()));
                Ok::<_, ()>(())
            })
            .unwrap();
            assert_eq!(split, files.len().saturating_sub(1));
            files
        };
        let one = all(MAX_URLS);
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
        let split = all(4);
        let names: Vec<&str> = split.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["sitemap-1.xml", "sitemap-2.xml", "sitemap.xml"],
            "the index last"
        );
        assert!(split[2].1.contains("<sitemapindex") && split[2].1.contains("sitemap-2.xml"));
        let urls: usize = split[..2]
            .iter()
            .map(|(_, t)| t.matches("<url>").count())
            .sum();
        assert_eq!(urls, 6);
        assert!(robots(&f).contains("Sitemap: https://example.org/attacks/sitemap.xml\n"));
    }

    #[test]
    fn the_feed_holds_the_newest_changes() {
        let mut m = manifest(150);
        let first = ("198.51.0.1".parse().unwrap(), None);
        m.put(first, 999, 1_900_000_000);
        let feed = feed(&m, &facts());
        assert_eq!(feed.matches("<entry>").count(), FEED_ENTRIES);
        let at = feed.find("<entry>").unwrap();
        assert!(feed[at..].starts_with("<entry>\n<title>Brute-force attacker 198.51.0.1<"));
        assert!(feed.contains("<updated>2030-03-17T17:46:40Z</updated>\n<author>"));
        m.remove(first, 1_900_000_001);
        assert!(!super::feed(&m, &facts()).contains("198.51.0.1<"));
    }
}
