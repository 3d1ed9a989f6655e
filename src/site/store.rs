//! A site being written: its folder, its manifest, and what this writing
//! changed. Pages first, then the manifest (the commit point), then the
//! files derived from it (index, archive, sitemap, robots.txt, feed, the
//! IndexNow key file), which a later writing makes again whole when a kill
//! left them behind the manifest.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Result;

use super::manifest::{self, Manifest};
use super::page::{self, Facts};
use super::write::SiteDir;
use super::{index, sitemap, slug};
use crate::render::Announcement;

/// A site open for writing.
pub struct Site {
    pub dir: SiteDir,
    pub facts: Facts,
    /// The IndexNow key, whose file the site serves.
    pub key: Option<String>,
    pub manifest: Manifest,
    /// The order numbers of the pages changed since the last commit.
    changed: BTreeSet<u64>,
}

impl Site {
    /// The site in `dir`, with its manifest.
    pub fn open(dir: &Path, facts: Facts, key: Option<String>) -> Result<Site> {
        let dir = SiteDir::open(dir)?;
        let manifest = Manifest::load(dir.root())?;
        Ok(Site {
            dir,
            facts,
            key,
            manifest,
            changed: BTreeSet::new(),
        })
    }

    /// Writes the page of `a` and its JSON twin `json`, and notes it in the
    /// manifest (saved by `commit`).
    pub fn put(&mut self, a: &Announcement, json: &str) -> Result<()> {
        let slug = slug::slug(a.ip, a.prefix);
        self.dir.put(
            &slug::page_path(&slug),
            page::html(a, &slug, &self.facts).as_bytes(),
        )?;
        self.dir.put(&slug::json_path(&slug), json.as_bytes())?;
        let key = (a.ip, a.prefix);
        self.manifest.put(key, a.tries, self.facts.now);
        if let Some(row) = self.manifest.get(key) {
            self.changed.insert(row.seq);
        }
        Ok(())
    }

    /// The same, unless the page on disk already shows `a` as it is (its
    /// text made at its recorded lastmod is the same), so that a rebuild
    /// moves the lastmod of the pages it changes only. Whether it wrote.
    pub fn put_if_changed(&mut self, a: &Announcement, json: &str) -> Result<bool> {
        let slug = slug::slug(a.ip, a.prefix);
        if let Some(row) = self.manifest.get((a.ip, a.prefix)).filter(|r| !r.gone) {
            let then = Facts {
                now: row.lastmod,
                ..self.facts.clone()
            };
            let same = self.dir.read(&slug::page_path(&slug)).as_deref()
                == Some(page::html(a, &slug, &then).as_str())
                && self.dir.read(&slug::json_path(&slug)).as_deref() == Some(json);
            if same {
                return Ok(false);
            }
        }
        self.put(a, json)?;
        Ok(true)
    }

    /// Deletes the page of `key` and its twin; false if the site has no such page.
    pub fn remove(&mut self, key: slug::Key) -> Result<bool> {
        let Some(seq) = self.manifest.get(key).filter(|r| !r.gone).map(|r| r.seq) else {
            return Ok(false);
        };
        let slug = slug::slug(key.0, key.1);
        self.dir.remove(&slug::page_path(&slug))?;
        self.dir.remove(&slug::json_path(&slug))?;
        self.manifest.remove(key, self.facts.now);
        self.changed.insert(seq);
        Ok(true)
    }

    /// Whether anything waits to be committed.
    pub fn is_changed(&self) -> bool {
        !self.changed.is_empty()
    }

    /// Makes the pages durable, saves the manifest that records them, then
    /// the derived files. With nothing changed, only finishes derived files
    /// a kill left behind.
    pub fn commit(&mut self) -> Result<()> {
        if self.changed.is_empty() {
            return self.catch_up();
        }
        self.dir.sync()?;
        crate::fault::point("site:pages-written");
        self.save_manifest()?;
        crate::fault::point("site:manifest-written");
        let changed = std::mem::take(&mut self.changed);
        self.derive(Some(&changed))
    }

    /// Commits what changed, then makes every derived file again: after
    /// an upgrade, the layout of all of them may have changed.
    pub fn commit_all(&mut self) -> Result<()> {
        if !self.changed.is_empty() {
            self.dir.sync()?;
            self.save_manifest()?;
            self.changed.clear();
        }
        self.derive(None)
    }

    /// Saves the manifest alone, a new generation (IndexNow's answers).
    pub fn save_manifest(&mut self) -> Result<()> {
        self.manifest.generation += 1;
        let m = &self.manifest;
        self.dir.put_durably(manifest::FILE, |w| m.write_to(w))
    }

    /// The generation of the manifest the derived files show.
    fn derived_from(&self) -> Option<u64> {
        let done = self.dir.read(manifest::DERIVED)?;
        done.trim().parse().ok()
    }

    /// Saves what IndexNow was told: the manifest, and (as the pages and
    /// listings are the same) the derived files' mark, if they were current.
    pub fn save_notices(&mut self) -> Result<()> {
        let current = self.derived_from() == Some(self.manifest.generation);
        self.save_manifest()?;
        match current {
            true => self.mark_derived(),
            false => Ok(()),
        }
    }

    fn mark_derived(&self) -> Result<()> {
        let generation = format!("{}\n", self.manifest.generation);
        self.dir.put(manifest::DERIVED, generation.as_bytes())
    }

    /// Makes the derived files again, whole, when they show an older manifest.
    pub fn catch_up(&mut self) -> Result<()> {
        let done = self.derived_from();
        match done == Some(self.manifest.generation) && self.dir.has("index.html") {
            true => Ok(()),
            false => self.derive(None),
        }
    }

    /// The derived files: every archive page (`changed` None) or those
    /// holding a changed page and the newest; then the mark of the
    /// generation they show.
    fn derive(&self, changed: Option<&BTreeSet<u64>>) -> Result<()> {
        let (m, f) = (&self.manifest, &self.facts);
        let last = index::archive_count(m);
        let pages: BTreeSet<u64> = match changed {
            None => (1..=last).collect(),
            Some(seqs) => seqs
                .iter()
                .map(|&s| index::archive_of(s))
                .chain((last > 0).then_some(last))
                .collect(),
        };
        for n in pages {
            self.dir
                .put(&index::archive_path(n), index::archive(m, n, f).as_bytes())?;
        }
        // The split files before the index that names them.
        let split = sitemap::sitemaps(m, f, sitemap::MAX_URLS, &mut |name, text| {
            self.dir.put(name, text.as_bytes())
        })?;
        // Split files past the new count go: all of them when the sitemap
        // stands alone again.
        let mut n = split + 1;
        while self.dir.has(&format!("sitemap-{n}.xml")) {
            self.dir.remove(&format!("sitemap-{n}.xml"))?;
            n += 1;
        }
        self.dir.put("robots.txt", sitemap::robots(f).as_bytes())?;
        self.dir.put("feed.atom", sitemap::feed(m, f).as_bytes())?;
        if let Some(key) = &self.key {
            self.dir.put(&format!("{key}.txt"), key.as_bytes())?;
        }
        self.dir.put("index.html", index::index(m, f).as_bytes())?;
        self.dir.sync()?;
        self.mark_derived()
    }
}
