//! The run's posting, after its first save: each configured sink in turn
//! posts its share of the outbox (`deliver` posts one sink's), one sink's
//! failure keeping no other from posting; `--json`'s report of what was
//! announced; and a dry run's plans, the posts each sink would make now.

use std::collections::HashSet;
use std::io::{self, Write};
use std::net::IpAddr;

use anyhow::Result;

use crate::clock::Secs;
use crate::config::RunConfig;
use crate::deliver;
use crate::sink::stdout::print_post;
use crate::sink::{Post, name_of as sink_name, plan};
use crate::state::State;

/// What posting did: the posts accepted, and each sink's failure.
#[derive(Default)]
pub struct Published {
    pub posted: u64,
    pub failures: Vec<anyhow::Error>,
}

impl Published {
    /// The run's error: the first failure, counting the others.
    pub fn outcome(mut self) -> Result<()> {
        match self.failures.len() {
            0 => Ok(()),
            1 => Err(self.failures.remove(0)),
            n => {
                let first = self.failures.remove(0);
                Err(first.context(format!("{n} sinks failed")))
            }
        }
    }
}

/// Posts each sink's share of the outbox, the state saved after every post
/// (`deliver`). None when no sink had anything queued. A sink that cannot
/// be made ends the run at once.
pub fn all(st: &mut State, c: &RunConfig, now: Secs) -> Result<Option<Published>> {
    let mut report = Report::default();
    let mut failures = Vec::new();
    let mut attempted = false;
    for spec in &c.sinks {
        if !st.outbox.iter().any(|p| p.sink == sink_name(spec.name)) {
            continue;
        }
        attempted = true;
        let mut sink = c.sections.make(spec.name, now)?;
        // One sink failing must not keep the others from posting.
        let mut on_delivered = |post: &Post| {
            report.posted += 1;
            match c.json {
                true => report.post(post).map_err(anyhow::Error::from),
                false => Ok(()),
            }
        };
        let published =
            deliver::publish_sink(st, spec, sink.as_mut(), &c.state, now, &mut on_delivered);
        if let Err(e) = published {
            failures.push(e);
        }
    }
    Ok(attempted.then_some(Published {
        posted: report.posted,
        failures,
    }))
}

/// What a dry run shows: exactly the posts each sink would make now.
pub fn print_plans(st: &mut State, c: &RunConfig, now: Secs) -> Result<()> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut next = st.next_batch;
    for spec in &c.sinks {
        let name = sink_name(spec.name);
        let book = st.sinks.get(name).cloned().unwrap_or_default();
        let left = match book.blocked_until {
            Some(until) if now < until => 0,
            _ => spec.budget.left(&book, now),
        };
        for post in plan(
            &mut st.outbox,
            name,
            left,
            &mut next,
            now,
            spec.name.packing(),
        ) {
            if c.sinks.len() > 1 && !c.json {
                write!(out, "[{name}] ")?;
            }
            print_post(&mut out, &post, c.json)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `--json` output of a run: each announced attacker once, whichever sinks took it.
#[derive(Default)]
struct Report {
    printed: HashSet<IpAddr>,
    /// Posts accepted in this run, by any sink.
    posted: u64,
}

impl Report {
    fn post(&mut self, post: &Post) -> io::Result<()> {
        let fresh: Vec<_> = post
            .subjects
            .iter()
            .filter(|a| self.printed.insert(a.ip))
            .cloned()
            .collect();
        let post = Post {
            subjects: fresh,
            ..post.clone()
        };
        let mut out = io::stdout().lock();
        print_post(&mut out, &post, true)?;
        out.flush()
    }
}
