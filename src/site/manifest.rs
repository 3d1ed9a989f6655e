//! The site's own record of its pages, kept inside its folder so that pages
//! outlive the table's forgetting: one row per page (slug, address, order
//! of announcement, tries, when it last changed, when IndexNow was last
//! told), and the rows of removed pages until IndexNow is told they are
//! gone. It is the site's commit point: a run writes pages, then this, then
//! the files derived from it (`derived` says which generation they show),
//! so a kill anywhere is finished by the next run.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::clock::Secs;
use crate::hash::Map;

/// The manifest's file name inside the site's folder.
pub const FILE: &str = ".tweet-attacks-site.tsv";
/// Holds the generation of the manifest the derived files were made from.
pub const DERIVED: &str = ".tweet-attacks-derived";
const MAGIC: &str = "tweet-attacks site";
const VERSION: u32 = 1;

/// One page, or a removed one IndexNow has not yet been told of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Its place in the order of announcement, from 1: the archive's order.
    pub seq: u64,
    pub slug: String,
    /// The address or network, as pages name it.
    pub source: String,
    pub tries: u64,
    /// When the page last changed (or was removed).
    pub lastmod: Secs,
    /// The `lastmod` IndexNow last accepted (0: never).
    pub notified: Secs,
    /// Removed: no page, only a change to tell.
    pub gone: bool,
}

impl Row {
    /// IndexNow has not been told of its last change.
    pub fn unnotified(&self) -> bool {
        self.notified < self.lastmod
    }
}

/// Every page the site holds, in the order of announcement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Bumped at every save: the derived files say which one they show.
    pub generation: u64,
    pub next_seq: u64,
    rows: BTreeMap<u64, Row>,
    by_slug: Map<String, u64>,
}

impl Manifest {
    pub fn get(&self, slug: &str) -> Option<&Row> {
        self.by_slug.get(slug).and_then(|s| self.rows.get(s))
    }

    /// Records that the page `slug` of `source` now shows `tries`, changed
    /// at `now`: a new page takes the next place in the order.
    pub fn put(&mut self, slug: &str, source: &str, tries: u64, now: Secs) {
        let seq = match self.by_slug.get(slug) {
            Some(&seq) => seq,
            None => {
                self.next_seq = self.next_seq.max(1);
                let seq = self.next_seq;
                self.next_seq += 1;
                self.by_slug.insert(slug.to_string(), seq);
                seq
            }
        };
        let row = self.rows.entry(seq).or_insert_with(|| Row {
            seq,
            slug: slug.to_string(),
            source: source.to_string(),
            tries,
            lastmod: now,
            notified: 0,
            gone: false,
        });
        row.source = source.to_string();
        row.tries = tries;
        row.lastmod = changed_at(row, now);
        row.gone = false;
    }

    /// Marks the page `slug` removed at `now`: out of every listing, a
    /// change for IndexNow. False if there is no such page.
    pub fn remove(&mut self, slug: &str, now: Secs) -> bool {
        match self.by_slug.get(slug).and_then(|s| self.rows.get_mut(s)) {
            Some(row) if !row.gone => {
                row.gone = true;
                row.lastmod = changed_at(row, now);
                true
            }
            _ => false,
        }
    }

    /// IndexNow took the change of `slug` made at `lastmod`: a removed
    /// page's row is then done with.
    pub fn notified(&mut self, slug: &str, lastmod: Secs) {
        let Some(&seq) = self.by_slug.get(slug) else {
            return;
        };
        let Some(row) = self.rows.get_mut(&seq) else {
            return;
        };
        row.notified = row.notified.max(lastmod);
        if row.gone && !row.unnotified() {
            self.rows.remove(&seq);
            self.by_slug.remove(slug);
        }
    }

    /// Every row, pages and removed ones, in the order of announcement.
    pub fn rows(&self) -> impl DoubleEndedIterator<Item = &Row> {
        self.rows.values()
    }

    /// The pages, in the order of announcement.
    pub fn pages(&self) -> impl DoubleEndedIterator<Item = &Row> {
        self.rows.values().filter(|r| !r.gone)
    }

    /// The pages announced `from`th to `to`th: one archive page's, found
    /// by their place; a full rebuild makes every archive page, and reading
    /// every row for each would take time quadratic in the pages.
    pub fn pages_between(&self, from: u64, to: u64) -> impl DoubleEndedIterator<Item = &Row> {
        self.rows
            .range(from..=to)
            .map(|(_, r)| r)
            .filter(|r| !r.gone)
    }

    pub fn page_count(&self) -> usize {
        self.pages().count()
    }

    /// When any page last changed.
    pub fn last_written(&self) -> Option<Secs> {
        self.rows.values().map(|r| r.lastmod).max()
    }

    /// The rows whose change IndexNow has not taken.
    pub fn unnotified(&self) -> impl Iterator<Item = &Row> {
        self.rows.values().filter(|r| r.unnotified())
    }

    /// The manifest as its file holds it.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            "{MAGIC}\t{VERSION}\t{}\t{}",
            self.generation, self.next_seq
        )?;
        for r in self.rows.values() {
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                r.seq,
                r.slug,
                r.source,
                r.tries,
                r.lastmod,
                r.notified,
                if r.gone { "gone" } else { "page" }
            )?;
        }
        Ok(())
    }

    /// Reads a manifest's text; `what` names it in errors.
    pub fn parse(text: &str, what: &str) -> Result<Manifest> {
        let mut lines = text.lines();
        let head: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
        let mut m = match head.as_slice() {
            [magic, v, generation, next] if *magic == MAGIC => {
                if v.parse::<u32>().ok() != Some(VERSION) {
                    bail!("{what} is of version {v}, which this tweet-attacks cannot read");
                }
                Manifest {
                    generation: generation.parse().context(format!("{what}: bad head"))?,
                    next_seq: next.parse().context(format!("{what}: bad head"))?,
                    ..Manifest::default()
                }
            }
            _ => bail!("{what} is not a tweet-attacks site manifest"),
        };
        for (n, line) in lines.enumerate() {
            let row = parse_row(line)
                .with_context(|| format!("{what} line {} is corrupt: {line:?}", n + 2))?;
            if m.by_slug.insert(row.slug.clone(), row.seq).is_some()
                || m.rows.insert(row.seq, row).is_some()
            {
                bail!("{what} line {} repeats a page", n + 2);
            }
        }
        Ok(m)
    }

    /// The manifest in the site's folder `dir`; empty when there is none yet.
    pub fn load(dir: &Path) -> Result<Manifest> {
        let path = dir.join(FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Manifest::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }
}

/// When a change of `row` made at `now` is dated: `now`, unless IndexNow
/// was told of a change in this same second, when a second later, so that
/// this one is told too (a change is told when its lastmod is newer).
fn changed_at(row: &Row, now: Secs) -> Secs {
    match row.notified {
        0 => now,
        told => now.max(told + 1),
    }
}

fn parse_row(line: &str) -> Result<Row> {
    let f: Vec<&str> = line.split('\t').collect();
    let [seq, slug, source, tries, lastmod, notified, kind] = f.as_slice() else {
        bail!("{} fields, not 7", f.len());
    };
    if !super::slug::is_slug(slug) {
        bail!("bad slug");
    }
    Ok(Row {
        seq: seq.parse()?,
        slug: slug.to_string(),
        source: source.to_string(),
        tries: tries.parse()?,
        lastmod: lastmod.parse()?,
        notified: notified.parse()?,
        gone: match *kind {
            "page" => false,
            "gone" => true,
            _ => bail!("neither page nor gone"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_the_life_of_a_row() {
        let mut m = Manifest::default();
        m.put("203.0.113.5", "203.0.113.5", 7, 100);
        m.put("2001-db8-1-2--_64", "2001:db8:1:2::/64", 9, 100);
        m.put("203.0.113.5", "203.0.113.5", 12, 200);
        assert_eq!(m.get("203.0.113.5").unwrap().seq, 1, "keeps its place");
        assert_eq!(m.get("203.0.113.5").unwrap().lastmod, 200);
        assert_eq!(m.unnotified().count(), 2);
        m.notified("203.0.113.5", 200);
        assert_eq!(m.unnotified().count(), 1);
        assert!(m.remove("203.0.113.5", 300));
        assert!(!m.remove("203.0.113.5", 300), "removed once");
        assert_eq!(m.page_count(), 1);
        let mut text = Vec::new();
        m.write_to(&mut text).unwrap();
        let back = Manifest::parse(std::str::from_utf8(&text).unwrap(), "m").unwrap();
        assert_eq!(back, m);
        m.notified("203.0.113.5", 300);
        assert!(m.get("203.0.113.5").is_none(), "told, so done with");
        m.put("203.0.113.5", "203.0.113.5", 20, 400);
        assert_eq!(
            m.get("203.0.113.5").unwrap().seq,
            3,
            "a page again is a new one"
        );
    }

    #[test]
    fn corrupt_is_an_error_never_a_reset() {
        for text in [
            "",
            "nonsense",
            "tweet-attacks site\t2\t0\t1",
            "tweet-attacks site\t1\t0\t1\n1\t../etc\tx\t1\t1\t0\tpage",
            "tweet-attacks site\t1\t0\t1\n1\ta\tx\t1\t1\t0\tpage\n1\tb\tx\t1\t1\t0\tpage",
        ] {
            assert!(Manifest::parse(text, "m").is_err(), "{text:?}");
        }
    }
}
