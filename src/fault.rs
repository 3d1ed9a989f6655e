//! Pause points for the tests that kill a run: a test names one, the run stops there and waits to be killed.
//!
//! A test that kills the tool must show that the kill landed where it meant
//! it to (mid-save, mid-post), not merely at some moment. So instead of
//! killing after a random delay, the test sets `TWEET_ATTACKS_PAUSE_AT` to
//! the name of a point, optionally `NAME#N` for the Nth time it is reached
//! (1-based), and `TWEET_ATTACKS_PAUSE_FILE` to a path. When the run reaches
//! that point it writes the point's name to the file and sleeps until it is
//! killed. The test waits for the file, sends SIGKILL, and so knows exactly
//! what the kill interrupted. Without the variables every point is a no-op.
//! A test that removes the file instead lets the run go on: a run held at a
//! point while another starts.
//!
//! Only in builds that test: a debug build (what `cargo test` builds) or one
//! with the `fault-injection` feature (tests/real/bluesky-pds.sh's release
//! build). The release binary a user installs has no pause points: there
//! `point` is empty, and the variables mean nothing, so no one can make an
//! installed run sleep forever.

#[cfg(any(debug_assertions, feature = "fault-injection"))]
pub use armed::point;

/// Marks a point a test may pause the run at: nothing, in a release build.
#[cfg(not(any(debug_assertions, feature = "fault-injection")))]
#[inline(always)]
pub fn point(_name: &str) {}

#[cfg(any(debug_assertions, feature = "fault-injection"))]
mod armed {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    struct Target {
        name: String,
        nth: u64,
        file: Option<String>,
        seen: AtomicU64,
    }

    fn target() -> Option<&'static Target> {
        static TARGET: OnceLock<Option<Target>> = OnceLock::new();
        TARGET
            .get_or_init(|| {
                let spec = std::env::var("TWEET_ATTACKS_PAUSE_AT").ok()?;
                let (name, nth) = match spec.split_once('#') {
                    Some((n, k)) => (n.to_string(), k.parse().ok()?),
                    None => (spec, 1),
                };
                Some(Target {
                    name,
                    nth,
                    file: std::env::var("TWEET_ATTACKS_PAUSE_FILE").ok(),
                    seen: AtomicU64::new(0),
                })
            })
            .as_ref()
    }

    /// Marks a point a test may pause the run at; does nothing unless a test asked for it.
    pub fn point(name: &str) {
        let Some(t) = target() else { return };
        if t.name != name || t.seen.fetch_add(1, Ordering::SeqCst) + 1 != t.nth {
            return;
        }
        if let Some(file) = &t.file {
            // Written whole, then renamed: the test never reads half a name.
            let tmp = format!("{file}.part");
            if std::fs::write(&tmp, name).is_ok() && std::fs::rename(&tmp, file).is_ok() {
                while std::path::Path::new(file).exists() {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                return;
            }
        }
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}
