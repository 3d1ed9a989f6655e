//! `site rebuild` and `site remove`: the site destination's pages written
//! whole from the table, or one taken down for good. Both hold the state's
//! lock, so no run writes the site meanwhile.

use std::io::{self, Write};
use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::announce::announcement;
use crate::clock::Secs;
use crate::config::{SiteAction, SiteCommandConfig};
use crate::decide::Net;
use crate::scope::is_global;
use crate::sink::site::twin;
use crate::state::{self, Removal, State};

pub fn run(c: &SiteCommandConfig, now: Secs) -> Result<()> {
    state::must_exist(&c.state)?;
    let lock = state::lock(&c.state, Duration::from_secs(60))?;
    let mut st = state::load_as(&c.state, Some(&lock))?;
    let said = match &c.action {
        SiteAction::Rebuild => rebuild(&st, c, now)?,
        SiteAction::Remove { target, reason } => remove(&mut st, c, *target, reason, now)?,
    };
    let mut out = io::stdout().lock();
    writeln!(out, "{said}")?;
    out.flush()?;
    Ok(())
}

/// Writes the page of every announced attacker the table holds (those the
/// ignore list or `site remove` hold back aside), in the order they were
/// announced, a page at a time; then every derived file.
fn rebuild(st: &State, c: &SiteCommandConfig, now: Secs) -> Result<String> {
    let mut site = c.site.open(now)?;
    let rules = st.table.rules();
    // Only the order is held for all at once: by announcement, and within
    // a run most tries first, as runs post them (the table's ranking).
    let mut order: Vec<(Secs, IpAddr)> = Vec::new();
    st.table.try_for_each_ranked(|ip, a| {
        let held = st.removed.contains_key(&ip)
            || !is_global(ip)
            || c.policy.ignores_network(&ip, rules.prefix_of(&ip));
        if let (Some(at), false) = (a.announced, held) {
            order.push((at, ip));
        }
        Ok::<_, std::convert::Infallible>(())
    })?;
    order.sort_by_key(|&(at, _)| at);
    let (mut written, mut same) = (0, 0);
    for (_, ip) in order {
        let Some(a) = st.table.get(&ip) else { continue };
        let public = announcement(ip, &a, &c.privacy, &c.geo);
        match site.put_if_changed(&public, &twin(&public))? {
            true => written += 1,
            false => same += 1,
        }
    }
    site.commit_all()?;
    Ok(format!(
        "site: wrote {written} page(s), {same} unchanged; it holds {} page(s) in {}",
        site.manifest.page_count(),
        c.site.dir.display()
    ))
}

/// Takes the page of `target` down, and records it so that no sink
/// publishes it again; IndexNow is told by the next run.
fn remove(
    st: &mut State,
    c: &SiteCommandConfig,
    target: Net,
    reason: &str,
    now: Secs,
) -> Result<String> {
    let (ip, prefix) = attacker_of(st, target, c.ipv6_prefix);
    let source = match prefix {
        Some(p) => format!("{ip}/{p}"),
        None => ip.to_string(),
    };
    let mut site = c.site.open(now)?;
    let had_page = site.remove((ip, prefix))?;
    if !had_page && st.table.get(&ip).is_none_or(|a| a.announced.is_none()) {
        bail!("{source} has no page, and was never announced: nothing to remove");
    }
    site.commit()?;
    st.removed.insert(
        ip,
        Removal {
            source: source.clone(),
            reason: reason.to_string(),
            at: now,
        },
    );
    let queued = st.outbox.len();
    st.outbox.retain(|p| p.subject.ip != ip);
    let dropped = queued - st.outbox.len();
    state::save(&c.state, st)?;
    let page = match had_page {
        true => "its page and JSON deleted",
        false => "it had no page",
    };
    let dropped = match dropped {
        0 => String::new(),
        n => format!(", {n} queued post(s) dropped"),
    };
    Ok(format!(
        "removed {source}: {page}{dropped}; no sink will publish it again"
    ))
}

/// The attacker `target` names: its own key, the network of `ipv6_prefix`
/// bits runs count the address in, or the network as given.
fn attacker_of(st: &State, target: Net, ipv6_prefix: u8) -> (IpAddr, Option<u8>) {
    let ip = target.addr();
    if let Some(a) = st.table.get(&ip) {
        return (ip, a.net.map(|(p, _)| p));
    }
    let full = if ip.is_ipv4() { 32 } else { 128 };
    match target.prefix() {
        p if p < full && ip.is_ipv6() => (ip, Some(p)),
        _ => crate::table::Rules {
            ipv6_prefix,
            ..st.table.rules()
        }
        .group(ip),
    }
}
