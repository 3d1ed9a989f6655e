//! Validated settings for one run, built from the command line. Core code sees only these.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::cli::{self, Args, SinkName};
use crate::clock::{self, Secs};
use crate::decide::{Net, Policy, default_ignores};

#[derive(Debug)]
pub struct Config {
    /// The run's one reading of the clock.
    pub now: Secs,
    pub command: Command,
}

#[derive(Debug)]
pub enum Command {
    Run(RunConfig),
    Replay(ReplayConfig),
    Parse { inputs: Vec<Input> },
    Show { state: PathBuf, json: bool },
}

/// A log to read whole: a file, or standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

#[derive(Debug)]
pub struct RunConfig {
    pub state: PathBuf,
    pub logs: Vec<PathBuf>,
    pub policy: Policy,
    pub sinks: Vec<SinkName>,
    pub dry_run: bool,
    pub json: bool,
    pub retention: Secs,
    pub lock_wait: Duration,
}

#[derive(Debug)]
pub struct ReplayConfig {
    pub state: Option<PathBuf>,
    pub policy: Policy,
    pub json: bool,
    pub inputs: Vec<Input>,
}

fn policy(threshold: u64, ignore: &[String]) -> Result<Policy> {
    let mut nets = default_ignores();
    for s in ignore {
        nets.push(s.parse::<Net>().context("bad --ignore")?);
    }
    Ok(Policy {
        threshold,
        ignore: nets,
    })
}

fn inputs(paths: Vec<PathBuf>) -> Vec<Input> {
    if paths.is_empty() {
        return vec![Input::Stdin];
    }
    paths
        .into_iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                Input::Stdin
            } else {
                Input::File(p)
            }
        })
        .collect()
}

impl Config {
    /// Validates the arguments; `wall_clock` is used unless `--now` pins the time.
    pub fn from_args(args: Args, wall_clock: Secs) -> Result<Config> {
        let now = match &args.now {
            Some(s) => clock::parse_rfc3339(s).context("bad --now / TWEET_ATTACKS_NOW")?,
            None => wall_clock,
        };
        let command = match args.command {
            cli::Command::Run(r) => {
                let retention = clock::parse_duration(&r.retention).context("bad --retention")?;
                if !(0.0..=3600.0).contains(&r.lock_wait) {
                    bail!("bad --lock-wait: {} (0 to 3600 seconds)", r.lock_wait);
                }
                let mut sinks = r.sinks;
                if sinks.is_empty() {
                    sinks.push(SinkName::Stdout);
                }
                sinks.dedup();
                Command::Run(RunConfig {
                    state: r.state,
                    logs: vec![r.auth_log, r.vsftpd_log],
                    policy: policy(r.threshold, &r.ignore)?,
                    sinks,
                    dry_run: r.dry_run,
                    json: r.json,
                    retention,
                    lock_wait: Duration::from_secs_f64(r.lock_wait),
                })
            }
            cli::Command::Replay(r) => Command::Replay(ReplayConfig {
                state: r.state,
                policy: policy(r.threshold, &r.ignore)?,
                json: r.json,
                inputs: inputs(r.inputs),
            }),
            cli::Command::Parse(p) => Command::Parse {
                inputs: inputs(p.inputs),
            },
            cli::Command::Show(s) => Command::Show {
                state: s.state,
                json: s.json,
            },
        };
        Ok(Config { now, command })
    }
}
