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

fn replace(
    path: &Path,
    mode: u32,
    sync: bool,
    fill: impl FnOnce(&mut io::BufWriter<&mut File>) -> io::Result<()>,
) -> io::Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let (mut f, temp) = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
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
