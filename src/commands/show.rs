//! `show`: the attacker table read from the state, most tries first, as a
//! table for people or JSON lines, each attacker with the parked posts
//! that name it, and the queues (`outbox`'s summary) under it.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::IpAddr;

use anyhow::Result;
use serde::Serialize;

use super::outbox::{ParkedPost, parked_posts, write_summary};
use crate::clock::{Secs, format_rfc3339};
use crate::config::ShowConfig;
use crate::decide::Net;
use crate::saved::view;
use crate::state::State;
use crate::table::Attacker;
use crate::text;

#[derive(Serialize)]
struct ShowLine<'a> {
    ip: std::net::IpAddr,
    tries: u64,
    users: &'a [String],
    users_more: u32,
    services: Vec<&'static str>,
    first: String,
    last: String,
    announced: Option<String>,
    /// Not a global address: counted and shown, never announced.
    internal: bool,
    /// The parked posts that name this attacker (as `outbox --json` lists them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    parked: Vec<&'a ParkedPost>,
}

pub fn show(c: &ShowConfig, now: Secs) -> Result<()> {
    view(&c.state, |st| show_state(c, st, now))
}

fn show_state(c: &ShowConfig, st: &mut State, now: Secs) -> Result<()> {
    let json = c.json;
    let mut out = io::BufWriter::new(io::stdout().lock());
    if !json {
        text::put_line(
            &mut out,
            format_args!(
                "{:<39} {:>7}  {:<10} {:<20} {:<20} USERS",
                "IP", "TRIES", "SERVICES", "LAST SEEN", "ANNOUNCED"
            ),
        )?;
    }
    let parked = parked_posts(st);
    let mut parked_by_ip: HashMap<IpAddr, Vec<&ParkedPost>> = HashMap::new();
    for p in &parked {
        for ip in &p.ips {
            parked_by_ip.entry(*ip).or_default().push(p);
        }
    }
    // One attacker read in full at a time: a million would not fit in memory at once.
    st.table.try_for_each_ranked(|ip, a| -> Result<()> {
        if !wanted(c, ip, a) {
            return Ok(());
        }
        let line = ShowLine {
            parked: parked_by_ip.remove(&ip).unwrap_or_default(),
            ip,
            tries: a.tries(),
            users: &a.users,
            users_more: a.users_more,
            services: a.services.names(),
            first: format_rfc3339(a.first),
            last: format_rfc3339(a.last),
            announced: a.announced.map(format_rfc3339),
            internal: !crate::scope::is_global(ip),
        };
        match json {
            true => {
                text::write_json(&mut out, &line, false)?;
                writeln!(out)?;
            }
            false => print_line(&mut out, &line, a)?,
        }
        Ok(())
    })?;
    // The queues, what a sink waits for, and parked posts, under the table.
    let mut summary = Vec::new();
    write_summary(&mut summary, st, now)?;
    if !json && !summary.is_empty() {
        writeln!(out)?;
        out.write_all(&summary)?;
    }
    out.flush()?;
    Ok(())
}

/// Within `--since`, `--min-tries` and the address or network asked for.
fn wanted(c: &ShowConfig, ip: IpAddr, a: &Attacker) -> bool {
    a.last >= c.since
        && a.tries() >= c.min_tries
        && c.ip.is_none_or(|want| {
            // An address finds its own entry or the network counted as one;
            // a network (`2001:db8:1:2::/64`, as a post names it) finds itself
            // and whatever is inside it.
            let own = match a.net {
                Some((prefix, _)) => Net::new(ip, prefix),
                None => Net::from(ip),
            };
            want.overlaps(&own)
        })
}

/// One attacker as a row of the table for people.
fn print_line(out: &mut impl Write, line: &ShowLine, a: &Attacker) -> io::Result<()> {
    let mut users = a.users.join(",");
    if a.users_more > 0 {
        users.push_str(&format!(" +{}", a.users_more));
    }
    // The names are escaped when stored; a state from elsewhere is escaped here.
    text::put_line(
        out,
        format_args!(
            "{:<39} {:>7}  {:<10} {:<20} {:<20} {}",
            a.source(line.ip),
            line.tries,
            line.services.join(","),
            line.last,
            match (&line.announced, line.internal) {
                (Some(t), _) => t.as_str(),
                (None, true) => "internal",
                (None, false) => "-",
            },
            users
        ),
    )
}
