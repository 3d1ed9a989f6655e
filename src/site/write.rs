//! Writing inside the site's folder and nowhere else: every file replaced
//! all at once (a temp file beside it, then a rename), so a web server
//! never serves half a page; the folders the site makes (`ip/`,
//! `archive/`) refused when they are anything but folders, so a link
//! planted there cannot lead a write outside.

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// What the web server may read: the pages are public.
const FILE_MODE: u32 = 0o644;
const DIR_MODE: u32 = 0o755;

/// The site's folder, checked to be one.
#[derive(Debug, Clone)]
pub struct SiteDir {
    root: PathBuf,
}

impl SiteDir {
    /// The folder `root`, which must exist.
    pub fn open(root: &Path) -> Result<SiteDir> {
        let meta = fs::metadata(root)
            .with_context(|| format!("site folder {} cannot be read", root.display()))?;
        if !meta.is_dir() {
            bail!("site folder {} is not a folder", root.display());
        }
        Ok(SiteDir {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of `rel` (`index.html`, `ip/x.html`), its folder made if
    /// need be: `rel` is one of the site's own names, never an attacker's.
    fn place(&self, rel: &str) -> Result<PathBuf> {
        debug_assert!(!rel.contains("..") && !rel.starts_with('/'), "{rel}");
        if let Some((sub, _)) = rel.rsplit_once('/') {
            let dir = self.root.join(sub);
            match fs::symlink_metadata(&dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => bail!(
                    "{} is not a folder (a link?); the site writes only inside its own folder",
                    dir.display()
                ),
                Err(e) if e.kind() == io::ErrorKind::NotFound => fs::DirBuilder::new()
                    .mode(DIR_MODE)
                    .create(&dir)
                    .or_else(|e| match e.kind() {
                        io::ErrorKind::AlreadyExists => Ok(()),
                        _ => Err(e),
                    })
                    .with_context(|| format!("cannot create {}", dir.display()))?,
                Err(e) => Err(e).with_context(|| format!("cannot inspect {}", dir.display()))?,
            }
        }
        Ok(self.root.join(rel))
    }

    /// Replaces `rel` with `bytes`, all at once; made durable by the next `sync`.
    pub fn put(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        let path = self.place(rel)?;
        crate::atomic::write_unsynced(&path, FILE_MODE, bytes)
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// Replaces `rel` with what `fill` writes, durable at once: the manifest.
    pub fn put_durably(
        &self,
        rel: &str,
        fill: impl FnOnce(&mut io::BufWriter<&mut fs::File>) -> io::Result<()>,
    ) -> Result<()> {
        let path = self.place(rel)?;
        crate::atomic::write_atomically(&path, FILE_MODE, fill)
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// Removes `rel` if it is there.
    pub fn remove(&self, rel: &str) -> Result<()> {
        let path = self.root.join(rel);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot remove {}", path.display()))
            }
            _ => Ok(()),
        }
    }

    /// Whether `rel` is there.
    pub fn has(&self, rel: &str) -> bool {
        fs::symlink_metadata(self.root.join(rel)).is_ok()
    }

    /// The text of `rel`, if it is there.
    pub fn read(&self, rel: &str) -> Option<String> {
        fs::read_to_string(self.root.join(rel)).ok()
    }

    /// Makes every file written so far durable, at once: before the
    /// manifest that records them.
    pub fn sync(&self) -> Result<()> {
        let f = fs::File::open(&self.root)
            .with_context(|| format!("cannot open {}", self.root.display()))?;
        // SAFETY: a valid open descriptor; syncfs has no other precondition.
        let r = unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&f)) };
        match r {
            0 => Ok(()),
            _ => Err(io::Error::last_os_error())
                .with_context(|| format!("cannot sync {}", self.root.display())),
        }
    }

    /// Checks that a file can be made and removed here, for `verify-credentials`.
    pub fn check_writable(&self) -> Result<()> {
        let f = tempfile::Builder::new()
            .prefix(".tweet-attacks-check.")
            .tempfile_in(&self.root)
            .with_context(|| format!("site folder {} is not writable", self.root.display()))?;
        f.close()
            .with_context(|| format!("cannot remove a file from {}", self.root.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_inside_and_refuses_a_planted_link() {
        let site = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let d = SiteDir::open(site.path()).unwrap();
        d.put("ip/a.html", b"x").unwrap();
        assert_eq!(d.read("ip/a.html").unwrap(), "x");
        std::os::unix::fs::symlink(outside.path(), site.path().join("archive")).unwrap();
        let e = d.put("archive/1.html", b"x").unwrap_err();
        assert!(format!("{e:#}").contains("not a folder"), "{e:#}");
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
        // A link at a file's name is replaced, never written through.
        let target = outside.path().join("t");
        fs::write(&target, "keep").unwrap();
        std::os::unix::fs::symlink(&target, site.path().join("index.html")).unwrap();
        d.put("index.html", b"new").unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep");
        assert_eq!(d.read("index.html").unwrap(), "new");
        d.sync().unwrap();
        d.check_writable().unwrap();
        assert!(SiteDir::open(&target).is_err());
    }
}
