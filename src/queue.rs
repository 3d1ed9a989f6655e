//! The `outbox` subcommand: what waits for each sink, what a sink is
//! waiting out, the posts parked after a refusal and why, and putting
//! parked posts back in the queue or dropping them. `show` prints the same
//! summary under its table; `sink_status` and `parked_posts` are the data,
//! for any other view.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::cli::{OutboxAction, OutboxArgs};
use crate::clock::{Secs, format_rfc3339};
use crate::state::{self, State};
use crate::text::{put_line, write_json};

/// What `outbox` was asked to do.
#[derive(Debug)]
pub struct OutboxConfig {
    pub state: PathBuf,
    pub json: bool,
    pub change: Option<(Change, Which)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Retry,
    Drop,
}

/// Parked posts by ID, or all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    All,
    Ids(Vec<u64>),
}

impl OutboxConfig {
    pub fn from_args(a: OutboxArgs) -> Result<OutboxConfig> {
        let which = |ids: Vec<String>| -> Result<Which> {
            if ids.iter().any(|i| i == "all") {
                return Ok(Which::All);
            }
            let ids = ids
                .iter()
                .map(|i| {
                    i.parse().map_err(|_| {
                        crate::config::Usage(format!("bad post ID {i:?}: a number or `all`")).into()
                    })
                })
                .collect::<Result<_>>()?;
            Ok(Which::Ids(ids))
        };
        let change = match a.action {
            None => None,
            Some(OutboxAction::Retry { ids }) => Some((Change::Retry, which(ids)?)),
            Some(OutboxAction::Drop { ids }) => Some((Change::Drop, which(ids)?)),
        };
        Ok(OutboxConfig {
            state: a.state,
            json: a.json,
            change,
        })
    }
}

/// One sink's queue as the state has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SinkStatus {
    pub sink: String,
    /// Announcements queued to be sent.
    pub waiting: usize,
    /// Announcements in parked posts.
    pub parked: usize,
    /// No post before this time (RFC 3339), while a rate limit lasts.
    pub blocked_until: Option<String>,
    /// The limit waited for, as the service named it.
    pub blocked_by: Option<String>,
}

/// Every sink that has something queued, parked or waited for, by name.
pub fn sink_status(st: &State, now: Secs) -> Vec<SinkStatus> {
    let mut by: BTreeMap<&str, SinkStatus> = BTreeMap::new();
    for p in &st.outbox {
        let s = by.entry(p.sink.as_str()).or_insert_with(|| empty(&p.sink));
        match p.parked {
            Some(_) => s.parked += 1,
            None => s.waiting += 1,
        }
    }
    for (name, book) in &st.sinks {
        let Some(until) = book.blocked_until.filter(|u| *u > now) else {
            continue;
        };
        let s = by.entry(name.as_str()).or_insert_with(|| empty(name));
        s.blocked_until = Some(format_rfc3339(until));
        s.blocked_by = book.blocked_by.clone();
    }
    by.into_values().collect()
}

fn empty(sink: &str) -> SinkStatus {
    SinkStatus {
        sink: sink.to_string(),
        waiting: 0,
        parked: 0,
        blocked_until: None,
        blocked_by: None,
    }
}

/// A post set aside after its sink refused it for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParkedPost {
    /// The post's outbox batch: what `outbox retry` and `drop` take.
    pub id: u64,
    pub sink: String,
    pub ips: Vec<IpAddr>,
    pub parked_at: String,
    pub reason: String,
}

/// Every parked post, by ID.
pub fn parked_posts(st: &State) -> Vec<ParkedPost> {
    let mut posts: BTreeMap<(u64, &str), ParkedPost> = BTreeMap::new();
    for p in &st.outbox {
        let (Some(parked), Some(id)) = (&p.parked, p.batch) else {
            continue;
        };
        posts
            .entry((id, p.sink.as_str()))
            .or_insert_with(|| ParkedPost {
                id,
                sink: p.sink.clone(),
                ips: Vec::new(),
                parked_at: format_rfc3339(parked.at),
                reason: parked.reason.clone(),
            })
            .ips
            .push(p.subject.ip);
    }
    posts.into_values().collect()
}

/// The sinks' queues and the parked posts, for people, with the hazards in
/// a service's reason or a saved limit's name escaped; nothing when all is empty.
pub fn write_summary(out: &mut impl Write, st: &State, now: Secs) -> io::Result<()> {
    let sinks = sink_status(st, now);
    if !sinks.is_empty() {
        writeln!(
            out,
            "{:<10} {:>7} {:>6}  BLOCKED UNTIL",
            "SINK", "WAITING", "PARKED"
        )?;
        for s in &sinks {
            let blocked = match (&s.blocked_until, &s.blocked_by) {
                (Some(u), Some(by)) => format!("{u} ({by})"),
                (Some(u), None) => u.clone(),
                _ => "-".to_string(),
            };
            put_line(
                out,
                format_args!("{:<10} {:>7} {:>6}  {blocked}", s.sink, s.waiting, s.parked),
            )?;
        }
    }
    let parked = parked_posts(st);
    if !parked.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "Parked posts (`tweet-attacks outbox retry ID` or `drop ID`):"
        )?;
        writeln!(
            out,
            "{:>6}  {:<10} {:<20}  ADDRESSES  REASON",
            "ID", "SINK", "PARKED"
        )?;
        for p in &parked {
            let ips: Vec<String> = p.ips.iter().map(IpAddr::to_string).collect();
            put_line(
                out,
                format_args!(
                    "{:>6}  {:<10} {:<20}  {}  {}",
                    p.id,
                    p.sink,
                    p.parked_at,
                    ips.join(","),
                    p.reason
                ),
            )?;
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct Listing {
    sinks: Vec<SinkStatus>,
    parked: Vec<ParkedPost>,
}

/// `tweet-attacks outbox [retry|drop ID…]`.
pub fn run(c: &OutboxConfig, now: Secs) -> Result<()> {
    state::must_exist(&c.state)?;
    let Some((change, which)) = &c.change else {
        let st = state::load(&c.state)?;
        let mut out = io::BufWriter::new(io::stdout().lock());
        if c.json {
            let listing = Listing {
                sinks: sink_status(&st, now),
                parked: parked_posts(&st),
            };
            write_json(&mut out, &listing, false)?;
            writeln!(out)?;
        } else {
            write_summary(&mut out, &st, now)?;
        }
        out.flush()?;
        return Ok(());
    };
    change_parked(&c.state, *change, which, now)
}

fn change_parked(path: &Path, change: Change, which: &Which, now: Secs) -> Result<()> {
    // A run in progress holds the lock; wait for it as a second run would.
    let lock = state::lock(path, Duration::from_secs(10))?;
    let mut st = state::load_as(path, Some(&lock))?;
    let chosen = |p: &crate::sink::Pending| {
        p.parked.is_some()
            && match which {
                Which::All => true,
                Which::Ids(ids) => p.batch.is_some_and(|b| ids.contains(&b)),
            }
    };
    if let Which::Ids(ids) = which {
        for id in ids {
            if !st.outbox.iter().any(|p| chosen(p) && p.batch == Some(*id)) {
                bail!(
                    "no parked post {id} in {} (see `tweet-attacks outbox`)",
                    path.display()
                );
            }
        }
    }
    match change {
        // The post keeps its batch: the retry sends the same text and keys.
        Change::Retry => {
            for p in st.outbox.iter_mut().filter(|p| chosen(p)) {
                p.parked = None;
            }
        }
        // Dealt with: the attacker is not queued again either.
        Change::Drop => {
            let dropped: Vec<IpAddr> = st
                .outbox
                .iter()
                .filter(|p| chosen(p))
                .map(|p| p.subject.ip)
                .collect();
            st.outbox.retain(|p| !chosen(p));
            for ip in dropped {
                if let Some(a) = st.table.get_mut(&ip) {
                    a.announced.get_or_insert(now);
                }
            }
        }
    }
    state::save(path, &mut st)
}
