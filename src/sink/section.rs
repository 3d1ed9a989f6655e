//! What every destination's part of the options file shares: what the
//! registry asks of it (`Part`), secrets that are never shown, the
//! environment variable that may give each one instead (it wins over the
//! file), and the checks that name what a section is missing. Each
//! destination's own part, and its variables, are in its own file.

use std::fmt;

use anyhow::{Context, Result};
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

/// The section, or what to add to the options file.
pub(super) fn section<'a, T>(s: Option<&'a T>, name: &str, keys: &str) -> Result<&'a T> {
    s.with_context(|| {
        format!("--sink {name} needs a [{name}] section in the --config file, with {keys}")
    })
}

pub(super) fn text<'a>(v: &'a Option<String>, section: &str, key: &str) -> Result<&'a str> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .with_context(|| format!("[{section}] in the --config file has no {key}"))
}

/// A secret from the section (where `var` has put the environment's), or
/// what to set when it has none.
pub(super) fn secret_or_var<'a>(
    v: &'a Option<Secret>,
    section: &str,
    key: &str,
    var: &str,
) -> Result<&'a str> {
    v.as_ref()
        .map(|s| s.expose().trim())
        .filter(|s| !s.is_empty())
        .with_context(|| format!("[{section}] in the --config file has no {key}"))
        .with_context(|| format!("set {var} in the environment, or {key} in [{section}]"))
}
