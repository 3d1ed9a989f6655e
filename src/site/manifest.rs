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

use super::slug::{Key, slug, source, unslug};
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
    /// Whose page it is: no text held, 100,000 rows stay small.
    pub key: Key,
    pub tries: u64,
    /// When the page last changed (or was removed).
    pub lastmod: Secs,
    /// The `lastmod` IndexNow last accepted (0: never).
    pub notified: Secs,
    /// Removed: no page, only a change to tell.
    pub gone: bool,
}

impl Row {
    /// Where its page lives.
    pub fn slug(&self) -> String {
        slug(self.key.0, self.key.1)
    }

    /// The address or network, as pages name it.
    pub fn source(&self) -> String {
        source(self.key)
    }

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
    by_key: Map<Key, u64>,
}

impl Manifest {
    pub fn get(&self, key: Key) -> Option<&Row> {
        self.by_key.get(&key).and_then(|s| self.rows.get(s))
    }

    /// Records that the page of `key` now shows `tries`, changed at `now`:
    /// a new page takes the next place in the order.
    pub fn put(&mut self, key: Key, tries: u64, now: Secs) {
        let seq = match self.by_key.get(&key) {
            Some(&seq) => seq,
            None => {
                self.next_seq = self.next_seq.max(1);
                let seq = self.next_seq;
                self.next_seq += 1;
                self.by_key.insert(key, seq);
                seq
            }
        };
        let row = self.rows.entry(seq).or_insert_with(|| Row {
            seq,
            key,
            tries,
            lastmod: now,
            notified: 0,
            gone: false,
        });
        row.tries = tries;
        row.lastmod = changed_at(row, now);
        row.gone = false;
    }

    /// Marks the page of `key` removed at `now`: out of every listing, a
    /// change for IndexNow. False if there is no such page.
    pub fn remove(&mut self, key: Key, now: Secs) -> bool {
        match self.by_key.get(&key).and_then(|s| self.rows.get_mut(s)) {
            Some(row) if !row.gone => {
                row.gone = true;
                row.lastmod = changed_at(row, now);
                true
            }
            _ => false,
        }
    }

    /// IndexNow took the change of `key`'s page made at `lastmod`: a
    /// removed page's row is then done with.
    pub fn notified(&mut self, key: Key, lastmod: Secs) {
        let Some(&seq) = self.by_key.get(&key) else {
            return;
        };
        let Some(row) = self.rows.get_mut(&seq) else {
            return;
        };
        row.notified = row.notified.max(lastmod);
        if row.gone && !row.unnotified() {
            self.rows.remove(&seq);
            self.by_key.remove(&key);
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

    /// The pages announced `seqs`th, in order: one archive page's, found
    /// without passing over the others.
    pub fn pages_in(&self, seqs: std::ops::RangeInclusive<u64>) -> impl Iterator<Item = &Row> {
        self.rows.range(seqs).map(|(_, r)| r).filter(|r| !r.gone)
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
                r.slug(),
                r.source(),
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
            if m.by_key.insert(row.key, row.seq).is_some() || m.rows.insert(row.seq, row).is_some()
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
    // The source column is for people reading the file: the slug says it all.
    let [seq, slug, _source, tries, lastmod, notified, kind] = f.as_slice() else {
        bail!("{} fields, not 7", f.len());
    };
    let Some(key) = unslug(slug) else {
        bail!("bad slug");
    };
    Ok(Row {
        seq: seq.parse()?,
        key,
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
        let a: Key = ("203.0.113.5".parse().unwrap(), None);
        let net: Key = ("2001:db8:1:2::".parse().unwrap(), Some(64));
        let mut m = Manifest::default();
        m.put(a, 7, 100);
        m.put(net, 9, 100);
        m.put(a, 12, 200);
        assert_eq!(m.get(a).unwrap().seq, 1, "keeps its place");
        assert_eq!(m.get(a).unwrap().lastmod, 200);
        assert_eq!(m.get(net).unwrap().source(), "2001:db8:1:2::/64");
        assert_eq!(m.unnotified().count(), 2);
        m.notified(a, 200);
        assert_eq!(m.unnotified().count(), 1);
        assert!(m.remove(a, 300));
        assert!(!m.remove(a, 300), "removed once");
        assert_eq!(m.page_count(), 1);
        let mut text = Vec::new();
        m.write_to(&mut text).unwrap();
        let back = Manifest::parse(std::str::from_utf8(&text).unwrap(), "m").unwrap();
        assert_eq!(back, m);
        assert!(text.starts_with(
            b"tweet-attacks site\t1\t0\t3\n1\t203.0.113.5\t203.0.113.5\t12\t300\t200\tgone\n\
              2\t2001-db8-1-2--_64\t2001:db8:1:2::/64\t"
        ));
        m.notified(a, 300);
        assert!(m.get(a).is_none(), "told, so done with");
        m.put(a, 20, 400);
        assert_eq!(m.get(a).unwrap().seq, 3, "a page again is a new one");
    }

    #[test]
    fn corrupt_is_an_error_never_a_reset() {
        for text in [
            "",
            "nonsense",
            "tweet-attacks site\t2\t0\t1",
            "tweet-attacks site\t1\t0\t1\n1\t../etc\tx\t1\t1\t0\tpage",
            "tweet-attacks site\t1\t0\t1\n1\t1.2.3.4\tx\t1\t1\t0\tpage\n1\t1.2.3.5\tx\t1\t1\t0\tpage",
            "tweet-attacks site\t1\t0\t1\n1\t1.2.3.04\tx\t1\t1\t0\tpage",
        ] {
            assert!(Manifest::parse(text, "m").is_err(), "{text:?}");
        }
    }
}
