//! `verify-credentials`: which sinks to check (those named, or every one
//! configured), each built as a run builds it (`sink::Sections::make`) and
//! its credentials checked without posting (X's `/2/users/me`, Mastodon's
//! `verify_credentials`, a Bluesky login, an AbuseIPDB lookup), one line
//! each on stdout; every check runs even when one fails.

use std::io::{self, Write};

use anyhow::Result;

use crate::clock::Secs;
use crate::sink::{Sections, SinkName, name_of};

#[derive(Debug)]
pub struct VerifyConfig {
    pub sinks: Vec<SinkName>,
    pub sections: Sections,
}

impl VerifyConfig {
    /// The sinks `named` (`--sink`), or else every one configured: X when
    /// its credentials are set (or nothing else is configured, to say which
    /// is missing), and each sink with a section or a secret in the
    /// environment.
    pub fn new(named: Vec<SinkName>, sections: Sections) -> Result<VerifyConfig> {
        let mut sinks = named;
        if sinks.is_empty() {
            sinks = sections.configured();
        }
        if sinks.is_empty() {
            // To say which of X's credentials is missing.
            sinks.push(SinkName::X);
        }
        sinks.dedup();
        // X's credentials are checked first, as they always were.
        if sinks.contains(&SinkName::X) {
            sections.check(&[SinkName::X])?;
        }
        sections.check(&sinks)?;
        Ok(VerifyConfig { sinks, sections })
    }
}

fn check_one(c: &VerifyConfig, sink: SinkName, now: Secs) -> Result<String> {
    c.sections.make(sink, now)?.check()
}

/// Checks each sink; prints what each says, and fails if any check did.
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
    match failed.into_iter().next() {
        None => Ok(()),
        Some(first) if n == 1 => Err(first),
        Some(first) => Err(first.context(format!("{n} of {} checks failed", c.sinks.len()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(named: Vec<SinkName>) -> String {
        format!(
            "{:#}",
            VerifyConfig::new(named, Sections::default()).unwrap_err()
        )
    }

    #[test]
    fn x_is_checked_first_and_chosen_when_nothing_is_configured() {
        let e = error(vec![SinkName::Mastodon, SinkName::X]);
        assert!(e.starts_with("TWITTER_CONSUMER_KEY is not set"), "{e}");
        let e = error(vec![]);
        assert!(e.starts_with("TWITTER_CONSUMER_KEY is not set"), "{e}");
        let e = error(vec![SinkName::Mastodon]);
        assert!(
            e.starts_with("--sink mastodon needs a [mastodon] section"),
            "{e}"
        );
        let c = VerifyConfig::new(vec![SinkName::Stdout], Sections::default()).unwrap();
        assert_eq!(c.sinks, [SinkName::Stdout]);
    }
}
