//! The site's index, newest page first, and its archive: every page in the
//! order of announcement, `PER_PAGE` to an archive page, so that an archive
//! page keeps its place (and its URL its pages) as the site grows; a
//! removed page leaves a gap rather than moving the others. Pure.

use std::fmt::Write as _;

use super::manifest::{Manifest, Row};
use super::page::{Facts, esc, foot, head, time};

/// Pages per archive page, and on the index.
pub const PER_PAGE: u64 = 100;

/// The archive page that lists the page announced `seq`th.
pub fn archive_of(seq: u64) -> u64 {
    seq.saturating_sub(1) / PER_PAGE + 1
}

/// How many archive pages the site has.
pub fn archive_count(m: &Manifest) -> u64 {
    m.next_seq.saturating_sub(1).div_ceil(PER_PAGE)
}

/// `archive/N.html`.
pub fn archive_path(n: u64) -> String {
    format!("archive/{n}.html")
}

fn table(out: &mut String, rows: &mut dyn Iterator<Item = &Row>, up: &str) -> usize {
    let mut n = 0;
    out.push_str("<table>\n<tr><th>Attacker</th><th>Tries</th><th>Updated</th></tr>\n");
    for r in rows {
        let _ = writeln!(
            out,
            "<tr><td><a href=\"{up}{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
            super::slug::page_path(&r.slug()),
            esc(&r.source()),
            r.tries,
            time(r.lastmod)
        );
        n += 1;
    }
    out.push_str("</table>\n");
    n
}

/// `index.html`: the newest pages, then the archive, newest first.
pub fn index(m: &Manifest, f: &Facts) -> String {
    let title = esc(&f.title);
    let count = m.page_count();
    let mut out = String::new();
    head(
        &mut out,
        &title,
        &format!("{title}: {count} addresses that tried to log in by force, newest first."),
        &f.url,
    );
    let _ = write!(
        out,
        "<main>\n<h1>{title}</h1>\n<p>{count} addresses and networks that tried to guess \
         passwords here, newest first. Each has its own page.</p>\n"
    );
    let shown = table(&mut out, &mut m.pages().rev().take(PER_PAGE as usize), "");
    if shown == 0 {
        out.push_str("<p>None yet.</p>\n");
    }
    let pages = archive_count(m);
    if pages > 0 {
        out.push_str("<h2>Archive</h2>\n<ul>\n");
        for n in (1..=pages).rev() {
            let _ = writeln!(out, "<li><a href=\"{}\">Page {n}</a></li>", archive_path(n));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</main>\n");
    foot(
        &mut out,
        f,
        "",
        " <a href=\"feed.atom\">Atom feed</a>. <a href=\"sitemap.xml\">Sitemap</a>.",
    );
    out
}

/// `archive/N.html`: the pages announced `(N-1)*100+1` to `N*100`th.
pub fn archive(m: &Manifest, n: u64, f: &Facts) -> String {
    let title = format!("{}, archive page {n}", esc(&f.title));
    let mut out = String::new();
    let url = format!("{}{}", f.url, archive_path(n));
    head(
        &mut out,
        &title,
        &format!("{title}: attackers in the order they were announced."),
        &url,
    );
    let _ = write!(out, "<main>\n<h1>{title}</h1>\n");
    let (from, to) = ((n - 1) * PER_PAGE + 1, n * PER_PAGE);
    let mut rows = m.pages_in(from..=to);
    if table(&mut out, &mut rows, "../") == 0 {
        out.push_str("<p>Every page here was removed.</p>\n");
    }
    let mut nav = Vec::new();
    if n > 1 {
        nav.push(format!("<a href=\"{}.html\">Older</a>", n - 1));
    }
    if n < archive_count(m) {
        nav.push(format!("<a href=\"{}.html\">Newer</a>", n + 1));
    }
    if !nav.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", nav.join(" · "));
    }
    out.push_str("</main>\n");
    foot(&mut out, f, "../", "");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::page::tests_support::{facts, manifest};

    #[test]
    fn newest_first_with_a_stable_archive() {
        let mut m = manifest(250);
        let f = facts();
        let idx = index(&m, &f);
        let first = idx.find("198.51.0.250").unwrap();
        let later = idx.find("198.51.0.249").unwrap();
        assert!(first < later, "newest first");
        assert!(!idx.contains("198.51.0.150<"), "only the newest 100");
        let p3 = idx.find("archive/3.html").unwrap();
        assert!(
            p3 < idx.find("archive/1.html").unwrap(),
            "newest archive page first"
        );
        assert_eq!(archive_count(&m), 3);
        let a1 = archive(&m, 1, &f);
        assert!(a1.contains("198.51.0.1<") && a1.contains("198.51.0.100<"));
        assert!(!a1.contains("198.51.0.101<"));
        m.remove(("198.51.0.1".parse().unwrap(), None), 2_000_000_000);
        let a1 = archive(&m, 1, &f);
        assert!(
            !a1.contains("198.51.0.1<") && a1.contains("198.51.0.100<"),
            "no shift"
        );
        assert!(archive(&m, 2, &f).contains("198.51.0.101<"));
        assert_eq!((archive_of(100), archive_of(101)), (1, 2));
    }
}
