//! The `outbox` subcommand: what waits for each sink, what a sink is
//! waiting out, the posts parked after a refusal and why, and putting
//! parked posts back in the queue or dropping them. `show` prints the same
//! summary under its table; `sink_status` and `parked_posts` are the data,
//! for any other view.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::clock::{Secs, format_rfc3339};
use crate::config::{Change, OutboxConfig, SinkSpec, Which};
use crate::state::{self, State};
use crate::text::{put_line, write_json};

/// One sink's queue as the state has it: what waits, what is parked, what
/// it waits out, and (with the sink's budget, for `status`) what it may
/// post. The one account of a sink's queue, for every view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SinkStatus {
    pub sink: String,
    /// Announcements queued to be sent.
    pub waiting: usize,
    /// Announcements in parked posts.
    pub parked: usize,
    pub oldest_queued: Option<String>,
    /// No post before this time (RFC 3339), while a rate limit lasts.
    pub blocked_until: Option<String>,
    /// The limit waited for, as the service named it.
    pub blocked_by: Option<String>,
    /// Posts accepted in the last 24 hours, and the daily limit (None: none).
    pub posted_24h: usize,
    pub per_day: Option<usize>,
    /// Posts the daily limit leaves (None: no daily limit).
    pub left_today: Option<usize>,
    /// Posts the next run may make, by the quarter rule or an explicit
    /// per-run limit (None: no limit); 0 while a rate limit lasts.
    pub next_run: Option<usize>,
}

impl SinkStatus {
    /// Nothing queued, parked or waited for.
    fn is_idle(&self) -> bool {
        self.waiting == 0 && self.parked == 0 && self.blocked_until.is_none()
    }
}

/// The sink `name`'s queue; `spec`, the sink as configured, gives its budget.
pub fn sink_status(st: &State, name: &str, spec: Option<&SinkSpec>, now: Secs) -> SinkStatus {
    let waiting: Vec<_> = st
        .outbox
        .iter()
        .filter(|p| p.sink == name && p.parked.is_none())
        .collect();
    let parked = st
        .outbox
        .iter()
        .filter(|p| p.sink == name && p.parked.is_some())
        .count();
    let book = st.sinks.get(name).cloned().unwrap_or_default();
    let posted_24h = book.recent.iter().filter(|t| **t > now - 86_400).count();
    let blocked = book.blocked_until.filter(|t| *t > now);
    let budget = spec.map(|s| s.budget);
    let limited = budget.filter(|b| b.per_day.is_some() || b.per_run.is_some());
    SinkStatus {
        sink: name.to_string(),
        waiting: waiting.len(),
        parked,
        oldest_queued: waiting.iter().map(|p| p.queued).min().map(format_rfc3339),
        blocked_until: blocked.map(format_rfc3339),
        blocked_by: blocked.and(book.blocked_by.clone()),
        posted_24h,
        per_day: budget.and_then(|b| b.per_day),
        left_today: budget
            .filter(|b| b.per_day.is_some())
            .map(|b| b.left_today(&book, now)),
        next_run: match blocked {
            Some(_) => Some(0),
            None => limited.map(|b| b.left(&book, now)),
        },
    }
}

/// Every sink that has something queued, parked or waited for, by name.
fn busy_sinks(st: &State, now: Secs) -> Vec<SinkStatus> {
    let names: BTreeSet<&str> = st
        .outbox
        .iter()
        .map(|p| p.sink.as_str())
        .chain(st.sinks.keys().map(String::as_str))
        .collect();
    names
        .into_iter()
        .map(|name| sink_status(st, name, None, now))
        .filter(|s| !s.is_idle())
        .collect()
}

/// A sink's line of `outbox --json`: its queue, without the budget.
#[derive(Serialize)]
struct QueueLine<'a> {
    sink: &'a str,
    waiting: usize,
    parked: usize,
    blocked_until: &'a Option<String>,
    blocked_by: &'a Option<String>,
}

impl<'a> From<&'a SinkStatus> for QueueLine<'a> {
    fn from(s: &'a SinkStatus) -> Self {
        QueueLine {
            sink: &s.sink,
            waiting: s.waiting,
            parked: s.parked,
            blocked_until: &s.blocked_until,
            blocked_by: &s.blocked_by,
        }
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
    let sinks = busy_sinks(st, now);
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
    if let Some(held) = st.indexnow.describe(now) {
        put_line(out, format_args!("IndexNow (the site's notices): {held}"))?;
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
struct Listing<'a> {
    sinks: Vec<QueueLine<'a>>,
    parked: Vec<ParkedPost>,
    /// What holds the site's IndexNow notices, if anything does.
    #[serde(skip_serializing_if = "Option::is_none")]
    indexnow: Option<String>,
}

/// `tweet-attacks outbox [retry|drop ID…]`.
pub fn run(c: &OutboxConfig, now: Secs) -> Result<()> {
    state::must_exist(&c.state)?;
    let Some((change, which)) = &c.change else {
        let st = state::load(&c.state)?;
        let mut out = io::BufWriter::new(io::stdout().lock());
        if c.json {
            let sinks = busy_sinks(&st, now);
            let listing = Listing {
                sinks: sinks.iter().map(QueueLine::from).collect(),
                parked: parked_posts(&st),
                indexnow: st.indexnow.describe(now),
            };
            write_json(&mut out, &listing, false)?;
            writeln!(out)?;
        } else if busy_sinks(&st, now).is_empty()
            && parked_posts(&st).is_empty()
            && st.indexnow.describe(now).is_none()
        {
            // Silence would look like a hang or a failure.
            writeln!(out, "nothing waiting")?;
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
            // `all` lets the site's IndexNow notices go again too.
            if *which == Which::All {
                st.indexnow.unpark();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::SinkBook;

    #[test]
    fn the_listing_names_each_busy_sink_by_name_and_no_idle_one() {
        let now = 1_000;
        let mut st = State::default();
        let book = |until: Secs| SinkBook {
            recent: vec![now - 10],
            blocked_until: Some(until),
            blocked_by: Some("daily".into()),
        };
        // Blocked with nothing queued: listed, by its block.
        st.sinks.insert("webhook".into(), book(now + 60));
        // A block that has lifted, and nothing queued: not listed.
        st.sinks.insert("bluesky".into(), book(now - 60));
        let sinks = busy_sinks(&st, now);
        let names: Vec<&str> = sinks.iter().map(|s| s.sink.as_str()).collect();
        assert_eq!(names, ["webhook"]);
        // `outbox --json` keeps its five fields, the budget left to `status`.
        let line = serde_json::to_value(QueueLine::from(&sinks[0])).unwrap();
        assert_eq!(
            line,
            serde_json::json!({
                "sink": "webhook",
                "waiting": 0,
                "parked": 0,
                "blocked_until": "1970-01-01T00:17:40Z",
                "blocked_by": "daily",
            })
        );
    }
}
