//! `export`: the attacker table read from the state, written by `crate::export`
//! in one of its formats to stdout, or to a file replaced whole (never
//! half-written, readable by the web server that publishes it).

use std::io::{self, Write};

use anyhow::{Context, Result};

use crate::clock::Secs;
use crate::config::ExportConfig;
use crate::export::{Options, export as write_export};
use crate::saved::view;
use crate::state::{self, State};

pub fn export(e: &ExportConfig, now: Secs) -> Result<()> {
    view(&e.state, |st| export_of(e, st, now))
}

/// A file is replaced only by a whole export of a whole state: the check
/// that `view` makes after the export is made here before the rename too.
fn export_of(e: &ExportConfig, st: &State, now: Secs) -> Result<()> {
    let options = Options {
        format: e.format,
        since: e.since,
        policy: &e.policy,
        min_tries: e.min_tries,
        privacy: &e.privacy,
        author: &e.author,
        feed_url: e.feed_url.as_deref(),
        host: &crate::host::name(),
        geo: &e.geo,
    };
    // Said once by `run` (its note in the state), else on each export.
    e.geo.warn_stale(Some(&st.notes), now);
    let corrupt = || state::check(&e.state, st).map_err(|e| io::Error::other(format!("{e:#}")));
    match &e.out {
        // Readable by the web server that publishes it; never half-written.
        Some(path) => crate::atomic::write_atomically(path, 0o644, |w| {
            write_export(&st.table, &options, now, w)?;
            corrupt()
        })
        .with_context(|| format!("cannot write {}", path.display())),
        None => {
            let mut out = io::BufWriter::new(io::stdout().lock());
            write_export(&st.table, &options, now, &mut out)?;
            out.flush()?;
            Ok(())
        }
    }
}
