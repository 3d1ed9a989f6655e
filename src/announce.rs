//! Which attackers are due now, as the announcements that name them: the
//! one place an attacker becomes an `Announcement` (`announcement`), with
//! who holds its address (`geoip`, looked up in memory) frozen in it; and
//! the one place that holds back those already queued or taken down by
//! `site remove` (`held_back`). `run` queues each for its sinks; `replay`
//! prints it; the site's pages are written from them.

use std::net::IpAddr;

use crate::decide::{Policy, decide};
use crate::geoip::Geo;
use crate::hash::Set;
use crate::render::{Announcement, Privacy};
use crate::sink::Pending;
use crate::state::State;
use crate::table::{Attacker, Table};

/// The addresses waiting in the outbox, as a set: looked up once per
/// attacker, and a queue may hold as many as the table.
pub fn queued_ips(outbox: &[Pending]) -> Set<IpAddr> {
    outbox.iter().map(|p| p.subject.ip).collect()
}

/// The addresses no sink may be handed now: those waiting in the outbox,
/// and those `site remove` took down, which are never published again.
pub fn held_back(st: &State) -> Set<IpAddr> {
    let mut held = queued_ips(&st.outbox);
    held.extend(st.removed.keys().copied());
    held
}

/// The announcement of the attacker `a` at `ip`, as every sink and page
/// shows it. A network's owner is that of the first address seen in it.
pub fn announcement(ip: IpAddr, a: &Attacker, privacy: &Privacy, geo: &Geo) -> Announcement {
    Announcement::of(ip, a, privacy).owned_by(geo)
}

/// Hands `each` the announcement of every attacker due now and not in
/// `queued`, most tries first, one at a time: a backlog's due attackers are
/// never all held as announcements at once.
pub fn each_due<E>(
    table: &Table,
    queued: &Set<IpAddr>,
    policy: &Policy,
    privacy: &Privacy,
    geo: &Geo,
    mut each: impl FnMut(Announcement) -> Result<(), E>,
) -> Result<(), E> {
    for ip in decide(table, policy, |ip| queued.contains(ip)) {
        // Read, not changed: it is not written again by the next save.
        let Some(a) = table.get(&ip) else {
            continue;
        };
        each(announcement(ip, &a, privacy, geo))?;
    }
    Ok(())
}
