//! `status`: the one screen on the job itself, read from the state file
//! without taking its lock: the last run, each log's position, the outbox
//! per sink with its budget and block, and the conditions said once.
//!
//! Built as a `Status` value first (also printed as JSON), so that new
//! bookkeeping in the state is one more field here and one more line in
//! `print` or its part for that section. Each sink's queue, block and budget (`SinkStatus`) and the
//! parked posts come from `outbox`, which `show` uses too; the rotated file
//! still watched from `LogPos`.

use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;

use anyhow::Result;
use serde::Serialize;

use super::outbox::{ParkedPost, SinkStatus, parked_posts, sink_status};
use crate::clock::{Secs, format_rfc3339, span};
use crate::config::StatusConfig;
use crate::saved::{UNCONFIGURED, view};
use crate::source::LogPos;
use crate::state::{RunRecord, State};
use crate::text::{put_line, write_json};

#[derive(Debug, Serialize)]
pub struct Status {
    pub state: String,
    pub version: u32,
    pub last_run: Option<LastRun>,
    pub attackers: usize,
    /// Of those, at internal addresses (`scope`): counted, never announced.
    pub internal: usize,
    pub logs: Vec<LogStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal_cursor: Option<String>,
    /// Where `run` reads sshd from: a log file or `the journal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sshd_source: Option<String>,
    pub sinks: Vec<SinkStatus>,
    /// Posts set aside after a sink refused them for good (`outbox retry|drop`).
    pub parked: Vec<ParkedPost>,
    /// The site destination's pages, when the options file has a `[site]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteStatus>,
    /// Attackers `site remove` took down: never published again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<RemovedStatus>,
    /// Lasting conditions said once on stderr, with when.
    pub notes: Vec<Note>,
}

#[derive(Debug, Serialize)]
pub struct SiteStatus {
    pub dir: String,
    pub pages: usize,
    /// When a page last changed.
    pub last_written: Option<String>,
    /// Pages changed (or removed) that IndexNow has not been told of.
    pub indexnow_queue: usize,
    /// What holds IndexNow back, if anything does.
    pub indexnow: Option<String>,
    /// Why the site's manifest could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RemovedStatus {
    pub source: String,
    pub at: String,
    pub reason: String,
}

/// The site in `dir`, as its manifest tells it, and IndexNow's book.
fn site_status(dir: &std::path::Path, st: &State, now: Secs) -> SiteStatus {
    let (manifest, error) = match crate::site::manifest::Manifest::load(dir) {
        Ok(m) => (m, None),
        Err(e) => (Default::default(), Some(format!("{e:#}"))),
    };
    SiteStatus {
        dir: dir.display().to_string(),
        pages: manifest.page_count(),
        last_written: manifest.last_written().map(format_rfc3339),
        indexnow_queue: manifest.unnotified().count(),
        indexnow: st.indexnow.describe(now),
        error,
    }
}

#[derive(Debug, Serialize)]
pub struct LastRun {
    pub started: String,
    pub ended: String,
    pub seconds: Secs,
    pub posted: u64,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct LogStatus {
    pub path: String,
    /// Where the next run starts, if a run has read it.
    pub offset: Option<u64>,
    /// Its size now, if it exists.
    pub size: Option<u64>,
    /// `same file`, `rotated`, `truncated`, `missing`, `never read`.
    pub file: &'static str,
    /// The previous generation still read for late writes, and from where.
    pub watching: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Note {
    pub key: String,
    pub since: String,
}

/// What the saved position says about the file at `path` now.
fn log_status(path: &str, pos: Option<&LogPos>) -> LogStatus {
    let meta = std::fs::metadata(path).ok();
    let file = match (&meta, pos) {
        (None, _) => "missing",
        (Some(_), None) => "never read",
        (Some(m), Some(p)) if m.ino() != p.inode || m.dev() != p.dev => {
            "rotated (the next run reads the old file's tail first)"
        }
        (Some(m), Some(p)) if m.len() < p.offset => "truncated (the next run reads it anew)",
        (Some(_), Some(_)) => "same file",
    };
    LogStatus {
        path: path.to_string(),
        offset: pos.map(|p| p.offset),
        size: meta.map(|m| m.len()),
        file,
        watching: pos
            .and_then(|p| p.prev.as_ref())
            .map(|prev| format!("{} from byte {}", prev.path, prev.at.offset)),
    }
}

pub fn build(c: &StatusConfig, st: &State, now: Secs) -> Status {
    let (mut attackers, mut internal) = (0, 0);
    st.table.for_each_standing(|s| {
        attackers += 1;
        internal += usize::from(!crate::scope::is_global(s.ip));
    });
    let mut paths: Vec<String> = st.logs.keys().cloned().collect();
    for p in &c.logs {
        let p = p.display().to_string();
        if !paths.contains(&p) {
            paths.push(p);
        }
    }
    let mut sinks: Vec<String> = c
        .sinks
        .iter()
        .map(|s| crate::sink::name_of(s.name).to_string())
        .collect();
    for name in st.outbox.iter().map(|p| &p.sink).chain(st.sinks.keys()) {
        if !sinks.contains(name) {
            sinks.push(name.clone());
        }
    }
    Status {
        state: c.state.display().to_string(),
        version: st.version,
        last_run: st.last_run.as_ref().map(|r: &RunRecord| LastRun {
            started: format_rfc3339(r.started),
            ended: format_rfc3339(r.ended),
            seconds: r.ended - r.started,
            posted: r.posted,
            error: r.error.clone(),
        }),
        attackers,
        internal,
        logs: paths
            .iter()
            .map(|p| log_status(p, st.logs.get(p)))
            .collect(),
        journal_cursor: st.journal_cursor.clone(),
        sshd_source: c.sshd_source.clone(),
        sinks: sinks
            .iter()
            .map(|name| {
                let spec = c
                    .sinks
                    .iter()
                    .find(|s| crate::sink::name_of(s.name) == name);
                sink_status(st, name, spec, now)
            })
            .collect(),
        parked: parked_posts(st),
        site: c.site_dir.as_deref().map(|d| site_status(d, st, now)),
        removed: st
            .removed
            .values()
            .map(|r| RemovedStatus {
                source: r.source.clone(),
                at: format_rfc3339(r.at),
                reason: r.reason.clone(),
            })
            .collect(),
        notes: st
            .notes
            .iter()
            .map(|(key, t)| Note {
                key: key.clone(),
                since: format_rfc3339(*t),
            })
            .collect(),
    }
}

fn print(s: &Status, out: &mut impl Write) -> io::Result<()> {
    put_line(
        out,
        format_args!("state      {} (format {})", s.state, s.version),
    )?;
    match &s.last_run {
        None => writeln!(out, "last run   none recorded")?,
        Some(r) => put_line(
            out,
            format_args!(
                "last run   {}, ended {} ({}), {} post(s), {}",
                r.started,
                r.ended,
                span(r.seconds),
                r.posted,
                r.error
                    .as_deref()
                    .map_or("ok".into(), |e| format!("FAILED: {e}"))
            ),
        )?,
    }
    match s.internal {
        0 => writeln!(out, "attackers  {}", s.attackers)?,
        n => writeln!(
            out,
            "attackers  {} ({n} internal: counted, never announced)",
            s.attackers
        )?,
    }
    print_logs(s, out)?;
    print_sinks(&s.sinks, out)?;
    print_site(s, out)?;
    print_parked_and_notes(s, out)
}

/// The site's pages and IndexNow's queue, and what was taken down.
fn print_site(s: &Status, out: &mut impl Write) -> io::Result<()> {
    if let Some(site) = &s.site {
        let written = site.last_written.as_deref().unwrap_or("never");
        put_line(
            out,
            format_args!(
                "site       {}: {} page(s), last written {written}",
                site.dir, site.pages
            ),
        )?;
        if let Some(e) = &site.error {
            put_line(out, format_args!("  {e}"))?;
        }
        let held = site
            .indexnow
            .as_deref()
            .map_or(String::new(), |h| format!(", {h}"));
        put_line(
            out,
            format_args!("  IndexNow {} URL(s) to send{held}", site.indexnow_queue),
        )?;
    }
    if !s.removed.is_empty() {
        writeln!(out, "removed (site remove: never published again)")?;
        for r in &s.removed {
            put_line(
                out,
                format_args!("  {} since {}: {}", r.source, r.at, r.reason),
            )?;
        }
    }
    Ok(())
}

/// Each log's position and file, and the journal's cursor.
fn print_logs(s: &Status, out: &mut impl Write) -> io::Result<()> {
    if let Some(from) = &s.sshd_source {
        put_line(out, format_args!("sshd from  {from}"))?;
    }
    writeln!(out, "logs")?;
    for l in &s.logs {
        let at = match (l.offset, l.size) {
            (Some(o), Some(n)) => format!("at {o} of {n} bytes"),
            (Some(o), None) => format!("at {o}"),
            (None, Some(n)) => format!("{n} bytes"),
            (None, None) => String::new(),
        };
        put_line(out, format_args!("  {:<32} {at:<24} {}", l.path, l.file))?;
        if let Some(w) = &l.watching {
            put_line(
                out,
                format_args!("  {:<32} also watching {w} for late writes", ""),
            )?;
        }
    }
    if let Some(c) = &s.journal_cursor {
        put_line(out, format_args!("  {:<32} cursor {c}", "journal"))?;
    }
    Ok(())
}

/// The outbox, one line per sink.
fn print_sinks(sinks: &[SinkStatus], out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "outbox")?;
    for k in sinks {
        let mut line = format!("  {:<10} {} waiting", k.sink, k.waiting);
        if k.parked > 0 {
            line.push_str(&format!(", {} parked", k.parked));
        }
        if let Some(t) = &k.oldest_queued {
            line.push_str(&format!(" (oldest queued {t})"));
        }
        if let Some(d) = k.per_day {
            line.push_str(&format!(", {} of {d} posted in 24 h", k.posted_24h));
        }
        if let (Some(n), None) = (k.left_today, &k.blocked_until) {
            line.push_str(&format!(", {n} left today"));
        }
        match (&k.blocked_until, k.next_run) {
            (Some(t), _) => {
                line.push_str(&format!(", blocked until {t}"));
                if let Some(by) = &k.blocked_by {
                    line.push_str(&format!(" ({by})"));
                }
            }
            (None, Some(n)) => line.push_str(&format!(", at most {n} next run")),
            (None, None) => {}
        }
        put_line(out, format_args!("{line}"))?;
    }
    Ok(())
}

/// The parked posts, and the conditions said once.
fn print_parked_and_notes(s: &Status, out: &mut impl Write) -> io::Result<()> {
    if !s.parked.is_empty() {
        writeln!(out, "parked (tweet-attacks outbox retry|drop ID)")?;
        for p in &s.parked {
            let ips: Vec<String> = p.ips.iter().map(|ip| ip.to_string()).collect();
            put_line(
                out,
                format_args!(
                    "  {:<6} {:<10} {} since {}: {}",
                    p.id,
                    p.sink,
                    ips.join(","),
                    p.parked_at,
                    p.reason
                ),
            )?;
        }
    }
    if !s.notes.is_empty() {
        writeln!(out, "said once")?;
        for n in &s.notes {
            let what = match n.key.as_str() {
                UNCONFIGURED => "not configured: run idles (see `run` without --if-configured)",
                "geoip-asn-stale" => "the GeoIP ASN database is over 90 days old: refresh it",
                "geoip-country-stale" => {
                    "the GeoIP country database is over 90 days old: refresh it"
                }
                k => k,
            };
            put_line(out, format_args!("  {what} (since {})", n.since))?;
        }
    }
    Ok(())
}

pub fn status(c: &StatusConfig, now: Secs) -> Result<()> {
    view(&c.state, |st| status_of(c, st, now))
}

fn status_of(c: &StatusConfig, st: &mut State, now: Secs) -> Result<()> {
    let s = build(c, st, now);
    let mut out = io::BufWriter::new(io::stdout().lock());
    if c.json {
        write_json(&mut out, &s, true)?;
        writeln!(out)?;
    } else {
        print(&s, &mut out)?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SinkSpec;
    use crate::render::Announcement;
    use crate::sink::SinkName;
    use crate::sink::{Budget, Parked, Pending, SinkBook};

    fn pending(ip: &str, sink: &str, parked: Option<Parked>) -> Pending {
        Pending {
            subject: Announcement {
                ip: ip.parse().unwrap(),
                tries: 9,
                users: vec![],
                users_more: 0,
                services: vec!["sshd".into()],
                first: 100,
                last: 200,
                servers: 1,
                prefix: None,
                seen: None,
                owner: Default::default(),
            },
            sink: sink.into(),
            batch: Some(7),
            queued: 300,
            created: None,
            parked,
        }
    }

    #[test]
    fn sinks_show_waiting_parked_blocks_and_the_budget() {
        let now = 100_000;
        let mut st = State::default();
        st.outbox.push(pending("203.0.113.1", "twitter", None));
        st.outbox.push(pending(
            "203.0.113.2",
            "mastodon",
            Some(Parked {
                reason: "422 Validation failed".into(),
                at: 400,
            }),
        ));
        st.sinks.insert(
            "twitter".into(),
            SinkBook {
                recent: vec![now - 100, now - 90_000],
                blocked_until: Some(now + 3600),
                blocked_by: Some("x-user-limit-24hour".into()),
            },
        );
        let c = StatusConfig {
            state: "state.json".into(),
            json: false,
            logs: vec![],
            sshd_source: None,
            sinks: vec![SinkSpec {
                name: SinkName::X,
                budget: Budget {
                    per_day: Some(17),
                    per_run: None,
                },
            }],
            site_dir: None,
        };
        for ip in ["10.0.0.1", "203.0.113.9", "fe80::1"] {
            let line = format!(
                "Nov 26 00:00:01 web01 sshd[1]: Failed password for root from {ip} port 22 ssh2"
            );
            st.table
                .record(&crate::parse::parse(line.as_bytes()).unwrap(), 1);
        }
        let s = build(&c, &st, now);
        assert_eq!((s.attackers, s.internal), (3, 2));
        let x = &s.sinks[0];
        assert_eq!((x.sink.as_str(), x.waiting, x.parked), ("twitter", 1, 0));
        assert_eq!(
            (x.posted_24h, x.per_day, x.left_today, x.next_run),
            (1, Some(17), Some(16), Some(0))
        );
        assert_eq!(x.blocked_by.as_deref(), Some("x-user-limit-24hour"));
        let m = s.sinks.iter().find(|k| k.sink == "mastodon").unwrap();
        assert_eq!((m.waiting, m.parked), (0, 1));
        assert_eq!(s.parked.len(), 1);
        let mut text = Vec::new();
        print(&s, &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("twitter    1 waiting (oldest queued 1970-01-01T00:05:00Z), 1 of 17 posted in 24 h, blocked until 1970-01-02T04:46:40Z (x-user-limit-24hour)"),
            "{text}"
        );
        assert!(text.contains("mastodon   0 waiting, 1 parked"), "{text}");
        assert!(
            text.contains("attackers  3 (2 internal: counted, never announced)\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "7      mastodon   203.0.113.2 since 1970-01-01T00:06:40Z: 422 Validation failed"
            ),
            "{text}"
        );

        // The block over: what the day leaves, and the next run's quarter of it.
        let s = build(&c, &st, now + 3601);
        let x = &s.sinks[0];
        assert_eq!((x.left_today, x.next_run), (Some(16), Some(4)));
        let mut text = Vec::new();
        print(&s, &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("1 of 17 posted in 24 h, 16 left today, at most 4 next run\n"),
            "{text}"
        );
    }
}
