//! `verify-credentials`: each configured sink's credentials checked
//! without posting (X's `/2/users/me`, Mastodon's `verify_credentials`, a
//! Bluesky login, an AbuseIPDB lookup), one line each on stdout; every
//! check runs even when one fails.

use std::io::{self, Write};

use anyhow::{Result, anyhow};

use crate::cli::SinkName;
use crate::clock::Secs;
use crate::config::XConfig;
use crate::sink::x::{TwitterSink, XClient};
use crate::sink::{Sink, SinkSettings, name_of};

#[derive(Debug)]
pub struct VerifyConfig {
    pub sinks: Vec<SinkName>,
    pub x: Option<XConfig>,
    pub settings: SinkSettings,
}

impl VerifyConfig {
    /// The sinks `named` (`--sink`), or else every one configured: X when
    /// its credentials are set (or nothing else is configured, to say which
    /// is missing), and each sink with a section or a secret in the
    /// environment.
    pub fn new(
        named: Vec<SinkName>,
        x: Result<XConfig>,
        settings: SinkSettings,
    ) -> Result<VerifyConfig> {
        let mut sinks = named;
        if sinks.is_empty() {
            let s = &settings;
            let configured = [
                (SinkName::Mastodon, s.mastodon.is_some()),
                (SinkName::Bluesky, s.bluesky.is_some()),
                (SinkName::Abuseipdb, s.abuseipdb.is_some()),
                (SinkName::Webhook, s.webhook.is_some()),
            ];
            let others: Vec<SinkName> = configured
                .iter()
                .filter(|(_, on)| *on)
                .map(|(n, _)| *n)
                .collect();
            if x.is_ok() || others.is_empty() {
                sinks.push(SinkName::Twitter);
            }
            sinks.extend(others);
        }
        sinks.dedup();
        let x = match sinks.contains(&SinkName::Twitter) {
            true => Some(x?),
            false => None,
        };
        settings.check(&sinks)?;
        Ok(VerifyConfig { sinks, x, settings })
    }
}

fn check_one(c: &VerifyConfig, sink: SinkName, now: Secs) -> Result<String> {
    let mut sink: Box<dyn Sink> = match (sink, &c.x) {
        (SinkName::Twitter, Some(x)) => Box::new(TwitterSink::new(XClient::new(
            &x.api_url,
            x.credentials.clone(),
        )?)),
        (SinkName::Twitter, None) => return Err(anyhow!("X credentials were not loaded")),
        (SinkName::Stdout, _) => return Ok("nothing to check".into()),
        (other, _) => crate::sink::make(other, &c.settings, now)?,
    };
    sink.check()
}

/// Checks each sink; prints what each says, and fails if any check did.
pub fn run(c: &VerifyConfig, now: Secs) -> Result<()> {
    let mut out = io::stdout().lock();
    let mut failed = Vec::new();
    for &sink in &c.sinks {
        match check_one(c, sink, now) {
            // X alone prints just the @username, as it always has.
            Ok(who) if c.sinks == [SinkName::Twitter] => writeln!(out, "{who}")?,
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
