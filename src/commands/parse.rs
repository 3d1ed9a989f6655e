//! `parse`: a JSON line per recognised line of whole logs (or, with
//! `--missed`, each line not understood, its hazards escaped), then the
//! summary and the forms seen on stderr. Reads and prints; keeps nothing.

use std::io::{self, Write};

use anyhow::{Context, Result};
use serde::Serialize;

use super::input::{input_name, open_input, warn_unrecognised};
use crate::clock::{LocalClock, Secs, format_rfc3339};
use crate::config::Input;
use crate::gather::warn_read;
use crate::parse::{Seen, examine};
use crate::summary::{Forms, Summary};
use crate::table::Table;
use crate::text;

#[derive(Serialize)]
struct ParsedLine<'a> {
    line: u64,
    service: &'static str,
    ip: std::net::IpAddr,
    user: Option<String>,
    time: Option<String>,
    host: Option<String>,
    event: String,
    count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
}

/// What `parse` has seen and written so far, across its inputs.
struct Parsing<W> {
    out: W,
    missed: bool,
    now: Secs,
    clock: LocalClock,
    /// The first failed write to stdout: nothing more is written after it.
    write_err: Option<io::Error>,
    summary: Summary,
    forms: Forms,
    /// Only for the summary's attackers and tries, counted as `replay` counts them.
    table: Table,
}

pub fn parse_inputs(inputs: &[Input], missed: bool, now: Secs) -> Result<()> {
    let mut p = Parsing {
        out: io::BufWriter::new(io::stdout().lock()),
        missed,
        now,
        clock: LocalClock::new(now),
        write_err: None,
        summary: Summary::default(),
        forms: Forms::default(),
        table: Table::default(),
    };
    for input in inputs {
        let name = input_name(input);
        let file = (inputs.len() > 1).then_some(name.as_str());
        let mut n = 0u64;
        let mut recognised = 0u64;
        let stats = crate::lines::for_each_line(open_input(input)?, true, |line| {
            n += 1;
            recognised += u64::from(p.line(n, line, file));
        })
        .with_context(|| format!("cannot read {name}"))?;
        if let Some(e) = p.write_err.take() {
            return Err(e).context("cannot write to stdout");
        }
        warn_read(&name, &stats);
        warn_unrecognised(&name, &stats, recognised);
        p.summary.lines += stats.lines;
    }
    p.out.flush().context("cannot write to stdout")?;
    p.summary.count_table(&p.table);
    crate::notice::say(&p.summary);
    crate::notice::say(&p.forms);
    Ok(())
}

impl<W: Write> Parsing<W> {
    /// Line `n` of `file`, examined, counted and written; true if it was
    /// a failed login.
    fn line(&mut self, n: u64, line: &[u8], file: Option<&str>) -> bool {
        let ev = match examine(line) {
            Seen::Event(ev) => ev,
            seen @ (Seen::Missed | Seen::Ambiguous) => {
                self.not_understood(line, seen == Seen::Ambiguous);
                return false;
            }
            Seen::Other => return false,
        };
        self.summary.recognised += 1;
        self.forms.add(ev.event_name());
        let t = self.clock.decode(&ev.stamp);
        self.table.record(&ev, t.unwrap_or(self.now));
        // A line without an address of its own is counted, not printed.
        let Some(ip) = ev.ip else { return true };
        if self.missed || self.write_err.is_some() {
            return true;
        }
        let rec = ParsedLine {
            line: n,
            service: ev.service.as_str(),
            ip,
            user: ev.user.map(|u| text::clean(u, usize::MAX)),
            time: t.map(format_rfc3339),
            host: ev.host.map(|h| text::clean(h, 255)),
            event: ev.event_name(),
            count: ev.count,
            file,
        };
        if let Err(e) =
            text::write_json(&mut self.out, &rec, false).and_then(|()| self.out.write_all(b"\n"))
        {
            self.write_err = Some(e);
        }
        true
    }

    /// A line like a failed login that was not understood: counted, and
    /// with `--missed` written.
    fn not_understood(&mut self, line: &[u8], ambiguous: bool) {
        match ambiguous {
            true => self.forms.ambiguous += 1,
            false => self.forms.missed += 1,
        }
        if self.missed && self.write_err.is_none() {
            // Escaped as every log text is: the line is the attacker's.
            let shown = text::clean(line, usize::MAX);
            let mark = if ambiguous { "ambiguous: " } else { "" };
            self.write_err = text::put_line(&mut self.out, format_args!("{mark}{shown}")).err();
        }
    }
}
