//! Entry point: build the config, run, report the error chain once, map it to an exit code.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use tweet_attacks::{cli, commands, config, state};

/// sysexits.h EX_TEMPFAIL: cron should simply try again next time.
const EX_TEMPFAIL: u8 = 75;

/// A bad value: the status clap gives a bad option.
const EX_USAGE: u8 = 2;

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let wall_clock = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let result = config::Config::from_args(args, wall_clock).and_then(commands::run);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `tweet-attacks parse big.log | head` is not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Not eprintln!: a closed stderr must not turn the exit status into a panic's.
            tweet_attacks::notice::say(format_args!("{e:#}"));
            if e.downcast_ref::<state::LockBusy>().is_some() {
                ExitCode::from(EX_TEMPFAIL)
            } else if e.chain().any(|c| c.is::<config::Usage>()) {
                ExitCode::from(EX_USAGE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
