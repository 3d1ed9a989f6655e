//! What every destination's part of the options file shares: what the
//! registry asks of it (`Part`), secrets that are never shown, the
//! environment variable that may give each one instead (it wins over the
//! file), and `Missing`, which names at once every key the named sections
//! lack. Each destination's own part, and its variables, are in its own
//! file.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Deserialize;

use super::seam::Sink;
use crate::clock::Secs;

/// A destination's part of the options file (its section, or X's keys),
/// as the registry (`sink::Sections`) asks of it: each destination
/// implements it in its own file, and is built from it alone.
pub trait Part: fmt::Debug {
    /// Whether it holds a secret, which puts the options file under the 0600 rule.
    fn has_secrets(&self) -> bool;
    /// Its secrets from the environment (`env` reads a variable) in place
    /// of the file's.
    fn with_env(&mut self, env: Env);
    /// Its API base URL, named as the options file names it, to check
    /// before anything quotes it.
    fn base_url(&self) -> Option<(&'static str, &str)> {
        None
    }
    /// Whether it is configured at all, in the file or the environment:
    /// `verify-credentials` checks those that are.
    fn is_set(&self) -> bool;
    /// Its sink, built from this part alone (nothing is sent); `now` is the
    /// run's time, for `createdAt` and relative rate-limit resets.
    fn build(&self, now: Secs) -> Result<Box<dyn Sink>>;
}

/// A value from the options file that must never be shown.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How a destination reads the environment: the value of a variable, if set.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The secret in the environment variable `var`, if it holds one.
pub(super) fn env_secret(env: Env, var: &str) -> Option<Secret> {
    env(var).filter(|v| !v.trim().is_empty()).map(Secret)
}

/// What the named destinations' parts of the options file lack, gathered
/// whole so that one message names every missing key (filling them in
/// takes one try, not one per key): each as the options file names it
/// (`twitter-consumer-secret`, `[mastodon] token`), the file first, since
/// cron and systemd runs see no login environment, then the variables that
/// may give the secrets instead.
#[derive(Debug, Default)]
pub struct Missing {
    /// Each key as the options file names it, with its variable if it has one.
    keys: Vec<(String, Option<&'static str>)>,
    /// The options file, named in the message (`None`: none was given).
    file: Option<PathBuf>,
}

impl Missing {
    /// Notes `key` (in `[section]`, or at the top) as missing.
    pub(super) fn add(&mut self, section: Option<&str>, key: &str, var: Option<&'static str>) {
        let key = match section {
            Some(section) => format!("[{section}] {key}"),
            None => key.to_owned(),
        };
        self.keys.push((key, var));
    }

    /// The text of `v`, trimmed; `""`, noted as missing, when it has none.
    pub(super) fn text<'a>(&mut self, v: &'a Option<String>, section: &str, key: &str) -> &'a str {
        let v = v.as_deref().map_or("", str::trim);
        if v.is_empty() {
            self.add(Some(section), key, None);
        }
        v
    }

    /// The secret in `v` (where `var` has put the environment's), trimmed;
    /// `""`, noted as missing, when it has none.
    pub(super) fn secret<'a>(
        &mut self,
        v: &'a Option<Secret>,
        section: &str,
        key: &str,
        var: &'static str,
    ) -> &'a str {
        let v = v.as_ref().map_or("", |s| s.expose().trim());
        if v.is_empty() {
            self.add(Some(section), key, Some(var));
        }
        v
    }

    /// An error naming every key noted, if any was.
    pub(super) fn done(self) -> Result<()> {
        match self.keys.is_empty() {
            true => Ok(()),
            false => Err(self.into()),
        }
    }

    /// `e`, where it says what is missing, naming the options file `file`.
    pub fn in_file(e: anyhow::Error, file: Option<&Path>) -> anyhow::Error {
        match e.downcast::<Missing>() {
            Ok(m) => Missing {
                file: file.map(Path::to_path_buf),
                ..m
            }
            .into(),
            Err(e) => e,
        }
    }

    /// Adds what `other` lacks.
    pub(super) fn extend(&mut self, other: Missing) {
        self.keys.extend(other.keys);
    }
}

/// The options file every command reads when neither `--config` nor
/// `$TWEET_ATTACKS_CONFIG` names one, if it exists (`config` finds it; a
/// message of what is missing names it).
pub const DEFAULT_CONFIG: &str = "/etc/tweet-attacks.toml";

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = self.keys.iter().map(|(k, _)| k.as_str()).collect();
        match &self.file {
            Some(file) => write!(f, "missing in {}: ", file.display())?,
            None => write!(
                f,
                "missing in the options file (none found: --config FILE, $TWEET_ATTACKS_CONFIG or {}): ",
                DEFAULT_CONFIG
            )?,
        }
        f.write_str(&keys.join(", "))?;
        let vars: Vec<&str> = self.keys.iter().filter_map(|(_, v)| *v).collect();
        if !vars.is_empty() {
            write!(f, " (or, in the environment: {})", vars.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for Missing {}
