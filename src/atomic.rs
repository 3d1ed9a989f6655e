//! Replacing a file all at once: a temp file beside it, synced, renamed over it.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The folder `path` is in (`.` for a bare name).
pub fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Replaces `path` all at once: writes a temp file beside it, fsyncs it,
/// renames it over `path`, fsyncs the folder. A kill at any point leaves the
/// old file or the new one, never a mix.
///
/// The temp file has an unpredictable name and is created with `O_EXCL`
/// (the tempfile crate), so nothing planted at a name we would open is ever
/// written through.
pub fn write_atomically(
    path: &Path,
    mode: u32,
    // A concrete writer, not `dyn Write`: serde_json makes ten small writes
    // per attacker, each a virtual call through `dyn`.
    fill: impl FnOnce(&mut io::BufWriter<&mut File>) -> io::Result<()>,
) -> io::Result<()> {
    replace(path, mode, true, fill)
}

/// The same, without the syncs: a kill still leaves the old file or the
/// new one, but a power cut may lose the new one. For many small files
/// (the site's pages) that one `syncfs` makes durable together before
/// what records them is written.
pub fn write_unsynced(path: &Path, mode: u32, bytes: &[u8]) -> io::Result<()> {
    replace(path, mode, false, |w| w.write_all(bytes))
}

/// The temp file of `replace` for a file named `name` is `.NAME.XXXXXX.tmp`:
/// `RANDOM` letters and digits between.
const RANDOM: usize = 6;
const TEMP_SUFFIX: &str = ".tmp";

/// The name of the file `temp` was to replace, if `temp` is named as
/// `replace` names its temp files: what a kill mid-write leaves behind.
pub fn temp_for(temp: &str) -> Option<&str> {
    let inner = temp.strip_prefix('.')?.strip_suffix(TEMP_SUFFIX)?;
    let (name, random) = inner.rsplit_once('.')?;
    let ours = random.len() == RANDOM && random.bytes().all(|b| b.is_ascii_alphanumeric());
    (ours && !name.is_empty()).then_some(name)
}

fn replace(
    path: &Path,
    mode: u32,
    sync: bool,
    fill: impl FnOnce(&mut io::BufWriter<&mut File>) -> io::Result<()>,
) -> io::Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let (mut f, temp) = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .rand_bytes(RANDOM)
        .suffix(TEMP_SUFFIX)
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(parent_of(path))?
        .into_parts();
    let mut w = io::BufWriter::with_capacity(if sync { 1 << 20 } else { 8192 }, &mut f);
    fill(&mut w)?;
    w.flush()?;
    drop(w);
    // On the handle: the umask does not count.
    f.set_permissions(fs::Permissions::from_mode(mode))?;
    if sync {
        f.sync_all()?;
        crate::fault::point("save:synced");
    }
    drop(f);
    temp.persist(path).map_err(|e| e.error)?;
    if sync {
        File::open(parent_of(path))?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_for_knows_the_temp_files_replace_makes_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.html");
        write_unsynced(&path, 0o644, b"old").unwrap();
        let mut seen = Vec::new();
        replace(&path, 0o644, false, |w| {
            for e in fs::read_dir(dir.path()).unwrap() {
                seen.push(e.unwrap().file_name().into_string().unwrap());
            }
            w.write_all(b"new")
        })
        .unwrap();
        seen.sort();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(temp_for(&seen[0]), Some("index.html"), "{seen:?}");
        assert_eq!(temp_for(&seen[1]), None, "the file itself");
        for other in [
            ".index.html.tmp",
            ".index.html.abc.tmp",
            "index.html.AbC123.tmp",
            ".index.html.AbC12-.tmp",
            "..AbC123.tmp",
            ".x.AbC123.tmpx",
        ] {
            assert_eq!(temp_for(other), None, "{other}");
        }
    }
}
