//! The run's step for the site, after posting: the pages of announced
//! attackers that came back with more tries are written again (once a run:
//! a page written in this run is left), the files derived from the
//! manifest are made again if a kill left them behind, and IndexNow is
//! told of every page changed since it was last told.

use anyhow::{Result, bail};

use crate::announce::announcement;
use crate::clock::Secs;
use crate::config::RunConfig;
use crate::notice;
use crate::render::Announcement;
use crate::sink::SinkName;
use crate::sink::indexnow::{Answer, Endpoint, submit};
use crate::sink::site::{SiteSettings, twin};
use crate::site::Site;
use crate::site::slug::{Key, page_path, slug};
use crate::state::State;

/// Whether the run writes the site.
fn writes_site(c: &RunConfig) -> bool {
    c.sinks.iter().any(|s| s.name == SinkName::Site) && c.sections.site.is_some()
}

/// The announced attackers this run touched, as their pages would show
/// them now: taken before the run's first save, which lets the table's
/// touched attackers go. Empty when the run does not write the site.
///
/// The site's own queued entries that the run touched are brought up to
/// date too: a page is written once a run, so an entry queued by an
/// earlier run (whose writing failed) must not write its older tries. Only
/// the site's: the other sinks' posts keep their text for their retries.
pub fn came_back(st: &mut State, c: &RunConfig) -> Vec<Announcement> {
    if !writes_site(c) {
        return Vec::new();
    }
    let site = crate::sink::name_of(SinkName::Site);
    for p in st.outbox.iter_mut().filter(|p| p.sink == site) {
        if let Some(a) = st.table.touched(&p.subject.ip) {
            p.subject = announcement(p.subject.ip, a, &c.privacy, &c.geo);
        }
    }
    st.table
        .touched_standings()
        .filter(|s| s.announced && !st.removed.contains_key(&s.ip))
        .filter_map(|s| {
            Some(announcement(
                s.ip,
                &*st.table.get(&s.ip)?,
                &c.privacy,
                &c.geo,
            ))
        })
        .collect()
}

/// The run's site step, when the run posts to the site: `came_back` are
/// the announced attackers it touched. Says whether it changed the state
/// (which is then saved).
pub fn site(st: &mut State, c: &RunConfig, now: Secs, came_back: &[Announcement]) -> Result<bool> {
    let Some(section) = c.sections.site.as_ref().filter(|_| writes_site(c)) else {
        return Ok(false);
    };
    let settings = section.settings()?;
    let mut site = settings.open(now)?;
    rewrite_returning(&mut site, came_back)?;
    site.commit()?;
    notify(&mut site, st, &settings, now)
}

/// Writes again the pages of `came_back` that show fewer tries than they
/// have now, unless written in this run already.
fn rewrite_returning(site: &mut Site, came_back: &[Announcement]) -> Result<()> {
    let now = site.facts.now;
    for a in came_back {
        let shown = site.manifest.get((a.ip, a.prefix));
        if shown.is_some_and(|r| !r.gone && r.tries < a.tries && r.lastmod != now) {
            site.put(a, &twin(a))?;
        }
    }
    Ok(())
}

/// Tells IndexNow of every page changed (or removed) since it was last
/// told, when a key is configured and its book lets it send; what it took
/// is recorded in the manifest, what it said in the state's book. Whether
/// the book changed. A refusal that parks it, or a failure, fails the run
/// (the URLs wait for the next); a 429 is said once and waited out.
fn notify(site: &mut Site, st: &mut State, settings: &SiteSettings, now: Secs) -> Result<bool> {
    let Some(key) = &settings.key else {
        return Ok(false);
    };
    if !st.indexnow.may_send(now) {
        return Ok(false);
    }
    let queue: Vec<(Key, Secs)> = site
        .manifest
        .unnotified()
        .map(|r| (r.key, r.lastmod))
        .collect();
    if queue.is_empty() {
        return Ok(false);
    }
    let urls: Vec<String> = queue
        .iter()
        .map(|&((ip, prefix), _)| format!("{}{}", settings.url, page_path(&slug(ip, prefix))))
        .collect();
    let endpoint = Endpoint::new(&settings.indexnow_url, &settings.url, key);
    crate::fault::point("site:indexnow-before-post");
    let (taken, stop) = submit(&endpoint, &urls, &st.indexnow, now);
    crate::fault::point("site:indexnow-answered");
    for &(key, lastmod) in &queue[..taken] {
        site.manifest.notified(key, lastmod);
    }
    if taken > 0 {
        site.save_notices()?;
    }
    let before = st.indexnow.clone();
    st.indexnow.record(stop.as_ref(), now);
    let left = queue.len() - taken;
    match stop {
        None | Some(Answer::Accepted) => notice::ended(&mut st.notes, WAIT_NOTE),
        Some(Answer::Wait { .. }) => {
            let why = st.indexnow.describe(now).unwrap_or_default();
            notice::once(
                &mut st.notes,
                WAIT_NOTE,
                now,
                format_args!("IndexNow: {why}; {left} URL(s) wait"),
            );
        }
        Some(Answer::Park(reason)) => {
            bail!(
                "IndexNow refused the site's notice, and is held until that is fixed \
                 (`tweet-attacks outbox retry all` then sends again): {reason}; {left} URL(s) wait"
            )
        }
        Some(Answer::Retry(e)) => {
            return Err(e.context(format!("IndexNow: {left} URL(s) wait for the next run")));
        }
    }
    Ok(st.indexnow != before || taken > 0)
}

/// The `State.notes` key of IndexNow's 429.
const WAIT_NOTE: &str = "indexnow-wait";
