//! `replay`: whole logs (and optionally a saved state, never written)
//! through the same parse and table as `run`, printing the posts the due
//! attackers would get, then the summary on stderr.

use std::io::{self, Write};

use anyhow::{Context, Result};

use super::input::{input_name, open_input, warn_unrecognised};
use crate::announce::{each_due, held_back};
use crate::clock::{LocalClock, Secs};
use crate::config::ReplayConfig;
use crate::gather::warn_read;
use crate::ingest::ingest_counting;
use crate::render::render;
use crate::sink::Post;
use crate::sink::stdout::print_post;
use crate::state::{self, State};
use crate::summary::Summary;

pub fn replay(c: &ReplayConfig, now: Secs) -> Result<()> {
    let mut st = match &c.state {
        Some(p) => state::load(p)?,
        None => State::default(),
    };
    st.table.set_rules(c.rules);
    // A replay writes no state: a stale database is said on every replay
    // (unless the state it starts from shows a run said it).
    c.geo.warn_stale(c.state.as_ref().map(|_| &st.notes), now);
    let mut clock = LocalClock::new(now);
    let mut summary = Summary::default();
    for input in &c.inputs {
        let name = input_name(input);
        let input = open_input(input)?;
        let (stats, recognised) = ingest_counting(&mut st.table, &mut clock, now, |on_line| {
            crate::lines::for_each_line(input, true, on_line)
        });
        let stats = stats.with_context(|| format!("cannot read {name}"))?;
        warn_read(&name, &stats);
        warn_unrecognised(&name, &stats, recognised);
        summary.lines += stats.lines;
        summary.recognised += recognised;
    }
    summary.count_table(&st.table);
    let queued = held_back(&st);
    let mut out = io::BufWriter::new(io::stdout().lock());
    each_due(&st.table, &queued, &c.policy, &c.privacy, &c.geo, |a| {
        let post = Post {
            text: render(&a),
            subjects: vec![a],
            batch: 0,
            created: now,
        };
        print_post(&mut out, &post, c.json)
    })?;
    out.flush()?;
    if let Some(path) = &c.state {
        state::check(path, &st)?;
    }
    crate::notice::say(&summary);
    // As at the end of `run`: the process ends next.
    std::mem::forget(st);
    Ok(())
}
