//! `verify-credentials`: which sinks to check (those named, or every one
//! configured), each built as a run builds it (`sink::Sections::make`) and
//! its credentials checked without posting (X's `/2/users/me`, Mastodon's
//! `verify_credentials`, a Bluesky login, an AbuseIPDB lookup), one line
//! each on stdout; every check runs even when one fails.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Result;

use crate::clock::Secs;
use crate::notice;
use crate::sink::{Missing, Sections, SinkName, name_of};

#[derive(Debug)]
pub struct VerifyConfig {
    pub sinks: Vec<SinkName>,
    pub sections: Sections,
    /// The options file, named when a sink's keys are missing from it.
    pub file: Option<PathBuf>,
}

impl VerifyConfig {
    /// The sinks `named` (`--sink`), or else every one configured: X when
    /// its credentials are set (or nothing else is configured, to say which
    /// are missing), and each sink with a section or a secret in the
    /// environment. X is checked first, as it always was.
    pub fn new(named: Vec<SinkName>, sections: Sections, file: Option<PathBuf>) -> VerifyConfig {
        let mut sinks = named;
        if sinks.is_empty() {
            sinks = sections.configured();
        }
        if sinks.is_empty() {
            // To say which of X's credentials are missing.
            sinks.push(SinkName::X);
        }
        sinks.sort();
        sinks.dedup();
        sinks.sort_by_key(|&s| s != SinkName::X);
        VerifyConfig {
            sinks,
            sections,
            file,
        }
    }
}

fn check_one(c: &VerifyConfig, sink: SinkName, now: Secs) -> Result<String> {
    c.sections
        .make(sink, now)
        .map_err(|e| Missing::in_file(e, c.file.as_deref()))?
        .check()
}

/// Checks each sink, one line each: what it says on stdout, why it failed
/// on stderr; fails if any check did (the last line says how many).
pub fn run(c: &VerifyConfig, now: Secs) -> Result<()> {
    let mut out = io::stdout().lock();
    let mut failed = Vec::new();
    for &sink in &c.sinks {
        match check_one(c, sink, now) {
            // X alone prints just the @username, as it always has.
            Ok(who) if c.sinks == [SinkName::X] => writeln!(out, "{who}")?,
            Ok(who) => writeln!(out, "{}: {who}", name_of(sink))?,
            Err(e) => {
                failed.push(e.context(format!("{}: the credentials check failed", name_of(sink))))
            }
        }
    }
    out.flush()?;
    let n = failed.len();
    let Some(last) = failed.pop() else {
        return Ok(());
    };
    if n == 1 {
        return Err(last);
    }
    // Every reason, one line each, and how many failed.
    for e in failed.iter().chain([&last]) {
        notice::say(format_args!("{e:#}"));
    }
    anyhow::bail!("{n} of {} credentials checks failed", c.sinks.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sinks(named: Vec<SinkName>) -> Vec<SinkName> {
        VerifyConfig::new(named, Sections::default(), None).sinks
    }

    #[test]
    fn x_is_checked_first_and_chosen_when_nothing_is_configured() {
        use SinkName::*;
        assert_eq!(
            sinks(vec![Mastodon, X, Webhook, Mastodon]),
            [X, Mastodon, Webhook]
        );
        assert_eq!(sinks(vec![]), [X]);
        assert_eq!(sinks(vec![Stdout]), [Stdout]);
        let c = VerifyConfig::new(vec![], Sections::default(), Some("/etc/t.toml".into()));
        let e = format!("{:#}", check_one(&c, X, 0).unwrap_err());
        assert!(
            e.starts_with("missing in /etc/t.toml: twitter-consumer-key, "),
            "{e}"
        );
    }
}
