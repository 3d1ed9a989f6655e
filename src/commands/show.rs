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
use crate::render::Owner;
use crate::saved::view;
use crate::state::State;
use crate::table::Attacker;
use crate::text;

#[derive(Serialize)]
struct ShowLine<'a> {
    ip: std::net::IpAddr,
    /// A network counted as one: its prefix length (with `ip`, its first
    /// address), and the first address seen in it, as `run --json` says.
    #[serde(skip_serializing_if = "Option::is_none")]
    prefix: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seen: Option<IpAddr>,
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
    /// `asn`, `as_org` and `country`, each when a database knows it.
    #[serde(flatten)]
    owner: Owner,
}

pub fn show(c: &ShowConfig, now: Secs) -> Result<()> {
    view(&c.state, |st| {
        // Said once by `run` (its note in the state), else on each show.
        c.geo.warn_stale(Some(&st.notes), now);
        show_state(c, st, now)
    })
}

fn show_state(c: &ShowConfig, st: &mut State, now: Secs) -> Result<()> {
    let json = c.json;
    let mut layout = match c.wide {
        true => Layout::WIDE,
        false => Layout::fitted(terminal_width()),
    };
    layout.owner = (!c.geo.is_empty()).then_some(layout.owner_width());
    let mut out = io::BufWriter::new(io::stdout().lock());
    if !json {
        let head = layout.row(
            &["IP", "TRIES", "SERVICES", "LAST SEEN", "ANNOUNCED"],
            "OWNER",
        );
        text::put_line(&mut out, format_args!("{head}USERS"))?;
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
            prefix: a.net.map(|(prefix, _)| prefix),
            seen: a.net.map(|(_, seen)| seen),
            tries: a.tries(),
            users: &a.users,
            users_more: a.users_more,
            services: a.services.names(),
            first: format_rfc3339(a.first),
            last: format_rfc3339(a.last),
            announced: a.announced.map(format_rfc3339),
            internal: !crate::scope::is_global(ip),
            // A network's owner is that of the first address seen in it, as announced.
            owner: c.geo.owner(a.net.map_or(ip, |(_, seen)| seen)),
        };
        match json {
            true => {
                text::write_json(&mut out, &line, false)?;
                writeln!(out)?;
            }
            false => print_line(&mut out, &layout, &line, a)?,
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

/// The table's columns for people: all of it (`--wide`), or cut to a
/// terminal's width, with shorter times and the user list ending in `+N`.
struct Layout {
    /// IP, tries, services, last seen, announced.
    widths: [usize; 5],
    /// Characters a time keeps: 20 is RFC 3339 in full, 11 is `11-26 10:00`.
    time: usize,
    /// The row's width, users included; `None` for no limit.
    columns: Option<usize>,
    /// The owner's column (`AS64500 NL Example Net`), before the users,
    /// when a database is configured: its width.
    owner: Option<usize>,
}

impl Layout {
    const WIDE: Layout = Layout {
        widths: [39, 7, 10, 20, 20],
        time: 20,
        columns: None,
        owner: None,
    };

    /// 69 columns before the users: a /64 written out (`2a01:4f8:5d9d:c9f8::/64`)
    /// fits its column, and 80 leave 11 for user names.
    fn fitted(columns: usize) -> Layout {
        Layout {
            widths: [23, 7, 11, 11, 11],
            time: 11,
            columns: Some(columns),
            owner: None,
        }
    }

    /// The owner's column: the AS number and country (`AS64500 NL`), or
    /// with the AS name too under `--wide`, whose longer names push the
    /// users right rather than being cut.
    fn owner_width(&self) -> usize {
        match self.columns {
            Some(_) => 13,
            None => 40,
        }
    }

    /// The owner's cell: `AS64500 NL`, and the AS name when there is room.
    fn owner(&self, o: &Owner) -> String {
        let mut cell: Vec<String> = Vec::new();
        cell.extend(o.asn.map(|n| format!("AS{n}")));
        cell.extend(o.country.clone());
        if self.columns.is_none() {
            cell.extend(o.as_org.clone());
        }
        match cell.is_empty() {
            true => "-".to_string(),
            false => cell.join(" "),
        }
    }

    /// The columns before the users, each padded, tries to the right,
    /// and the owner's when shown.
    fn row(&self, cells: &[&str; 5], owner: &str) -> String {
        let [ip, tries, services, last, announced] = self.widths;
        let mut row = format!(
            "{:<ip$} {:>tries$}  {:<services$} {:<last$} {:<announced$} ",
            cells[0], cells[1], cells[2], cells[3], cells[4]
        );
        if let Some(width) = self.owner {
            row.push_str(&format!("{owner:<width$} "));
        }
        row
    }

    /// `2026-11-26T10:00:01Z` as it fits: whole, or `11-26 10:00`.
    fn time(&self, rfc3339: &str) -> String {
        match self.time {
            20 => rfc3339.to_string(),
            _ => rfc3339.get(5..16).unwrap_or(rfc3339).replace('T', " "),
        }
    }

    /// As many names as fit in `room` characters with what is left counted
    /// as `+N`; every name when there is no limit.
    fn users(&self, names: &[String], more: u32, room: Option<usize>) -> String {
        let count = |shown: usize| {
            let rest = (names.len() - shown) as u64 + u64::from(more);
            let mut s = names[..shown].join(",");
            if rest > 0 {
                s.push_str(&format!("{}+{rest}", if shown > 0 { " " } else { "" }));
            }
            s
        };
        let Some(room) = room else {
            return count(names.len());
        };
        (0..=names.len())
            .rev()
            .map(count)
            .find(|s| s.chars().count() <= room)
            .unwrap_or_else(|| count(0))
    }
}

/// The terminal's width: `$COLUMNS`, else the window of standard output when
/// it is a terminal, else 80.
fn terminal_width() -> usize {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return n;
    }
    use std::io::IsTerminal;
    if io::stdout().is_terminal() {
        let mut size = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ writes one `winsize` into the struct given, which outlives the call.
        let got = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
        if got == 0 && size.ws_col > 0 {
            return usize::from(size.ws_col);
        }
    }
    80
}

/// One attacker as a row of the table for people.
fn print_line(
    out: &mut impl Write,
    layout: &Layout,
    line: &ShowLine,
    a: &Attacker,
) -> io::Result<()> {
    let announced = match (&line.announced, line.internal) {
        (Some(t), _) => layout.time(t),
        (None, true) => "internal".to_string(),
        (None, false) => "-".to_string(),
    };
    let head = layout.row(
        &[
            &a.source(line.ip),
            &line.tries.to_string(),
            &line.services.join(","),
            &layout.time(&line.last),
            &announced,
        ],
        &layout.owner(&line.owner),
    );
    let room = layout
        .columns
        .map(|c| c.saturating_sub(head.chars().count()));
    let users = layout.users(&a.users, a.users_more, room);
    // The names are escaped when stored; a state from elsewhere is escaped here.
    text::put_line(out, format_args!("{head}{users}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_cut_to_the_room_with_what_is_left_counted() {
        let names: Vec<String> = ["root", "admin", "oracle"].map(String::from).to_vec();
        let fitted = Layout::fitted(80);
        assert_eq!(fitted.users(&names, 0, Some(30)), "root,admin,oracle");
        assert_eq!(fitted.users(&names, 0, Some(13)), "root,admin +1");
        assert_eq!(fitted.users(&names, 5, Some(12)), "root +7");
        assert_eq!(fitted.users(&names, 5, Some(0)), "+8", "at least the count");
        assert_eq!(fitted.users(&[], 0, Some(0)), "");
        assert_eq!(Layout::WIDE.users(&names, 5, None), "root,admin,oracle +5");
        assert_eq!(fitted.time("2026-11-26T10:00:01Z"), "11-26 10:00");
        assert_eq!(
            Layout::WIDE.time("2026-11-26T10:00:01Z"),
            "2026-11-26T10:00:01Z"
        );
    }

    proptest::proptest! {
        #[test]
        fn users_fit_their_room_or_are_only_counted(
            names in proptest::collection::vec("[^\\p{C}]{0,24}", 0..12),
            more in 0u32..5000,
            room in 0usize..120,
        ) {
            let cut = Layout::fitted(80).users(&names, more, Some(room));
            let total = names.len() as u64 + u64::from(more);
            let counted_only = match total {
                0 => String::new(),
                n => format!("+{n}"),
            };
            proptest::prop_assert!(cut.chars().count() <= room || cut == counted_only, "{cut:?}");
            let shown = match cut.rsplit_once('+') {
                Some((list, _)) => list.trim_end(),
                None => cut.as_str(),
            };
            proptest::prop_assert!(names.join(",").starts_with(shown), "the first names, in order");
        }
    }
}
