//! Files a root run must not be tricked into writing: who may own the
//! folders and files it writes or obeys, and opening them without following
//! a link someone else planted.
//!
//! The tool runs as root from cron. Any folder it writes in that another
//! user can write lets that user plant a symlink or a hard link at a name
//! the run is about to open, and root then writes (or chmods) the target.
//! So the state's folder must be writable by its owner only, the owner must
//! be root or the user running the tool, and every name the run reuses is
//! opened with `O_NOFOLLOW` and checked on the open handle.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use anyhow::{Context, Result, bail};

/// The user this run acts as.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Root, or the user running the tool: the only owners whose files and
/// folders the run trusts.
pub fn trusted_owner(uid: u32) -> bool {
    uid == 0 || uid == euid()
}

/// Refuses a folder that another user could plant names in: writable by
/// group or others, or owned by someone other than root or us.
pub fn check_private_folder(dir: &Path, what: &str) -> Result<()> {
    let meta =
        fs::metadata(dir).with_context(|| format!("cannot inspect {what} {}", dir.display()))?;
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        bail!(
            "{what} {} is writable by group or others (mode {mode:04o}), who could make this run overwrite any file through a planted link; run: chmod go-w {}",
            dir.display(),
            dir.display()
        );
    }
    if !trusted_owner(meta.uid()) {
        bail!(
            "{what} {} belongs to uid {}, not to root or the user running tweet-attacks (uid {}); give it to one of them with chown",
            dir.display(),
            meta.uid(),
            euid()
        );
    }
    Ok(())
}

/// `O_NOFOLLOW` (a symlink at the name fails with ELOOP) and `O_NONBLOCK`
/// (a FIFO at the name cannot stall the run).
const NO_SURPRISES: i32 = libc::O_NOFOLLOW | libc::O_NONBLOCK;

/// Opens (creating if need be) the lock file at `path`, never through a
/// symlink, and refuses anything but a regular file owned by root or us.
pub fn open_lock(path: &Path) -> Result<File> {
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(NO_SURPRISES)
        .open(path);
    let f = match f {
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => bail!(
            "lock file {} is a symbolic link; refusing to follow it (remove it if you did not make it)",
            path.display()
        ),
        // A FIFO with no reader, opened without blocking.
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => not_regular(path)?,
        other => other.with_context(|| format!("cannot open lock file {}", path.display()))?,
    };
    let meta = f
        .metadata()
        .with_context(|| format!("cannot inspect lock file {}", path.display()))?;
    if !meta.is_file() {
        not_regular(path)?;
    }
    if !trusted_owner(meta.uid()) {
        bail!(
            "lock file {} belongs to uid {}, not to root or the user running tweet-attacks; refusing it",
            path.display(),
            meta.uid()
        );
    }
    Ok(f)
}

fn not_regular(path: &Path) -> Result<File> {
    bail!(
        "lock file {} is not a regular file; refusing it",
        path.display()
    )
}

/// A state path must name the file itself, never a symbolic link. Followed,
/// a link would make a root run create its lock and temp files beside the
/// target and replace it (a link to /etc/shadow left /etc/shadow.lock); and
/// whoever can change the link's target chooses what root writes. So a link
/// is refused, and everything the run writes stays in the state's own
/// folder, the one `check_private_folder` vouches for. (A link higher up,
/// a linked folder, is the folder itself: that is where the checks look.)
pub fn refuse_link(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(linked_state(path)),
        _ => Ok(()),
    }
}

/// The error for a state path that is a symbolic link.
pub fn linked_state(path: &Path) -> anyhow::Error {
    let target = fs::read_link(path)
        .map(|t| format!(" (to {})", t.display()))
        .unwrap_or_default();
    anyhow::anyhow!(
        "state file {} is a symbolic link{target}; refusing to follow it: give the file's own path with --state (a link would let whoever controls it choose what this run writes)",
        path.display()
    )
}
