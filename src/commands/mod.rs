//! The subcommands, one file each, and `run`, which picks the one asked
//! for. The cron job itself, `run`, is `crate::app`; `verify-credentials` is
//! `crate::verify`. Nothing here is shared: what the readers of a saved
//! state share is in `crate::saved`.

use std::io::{self, Write};

use anyhow::Result;

use crate::config::{Command, Config};

pub mod export;
mod input;
pub mod outbox;
pub mod parse;
pub mod replay;
pub mod show;
pub mod site;
pub mod status;

pub fn run(config: Config) -> Result<()> {
    let now = config.now;
    match config.command {
        Command::Run(r) => crate::app::run(r, now),
        Command::Replay(c) => replay::replay(&c, now),
        Command::Parse { inputs, missed } => parse::parse_inputs(&inputs, missed, now),
        Command::Show(c) => show::show(&c, now),
        Command::Status(c) => status::status(&c, now),
        Command::Outbox(o) => outbox::run(&o, now),
        Command::VerifyCredentials(v) => crate::verify::run(&v, now),
        Command::Export(e) => export::export(&e, now),
        Command::Site(c) => site::run(&c, now),
        Command::Completions(shell) => print(crate::completions::script(shell).as_bytes()),
        Command::Man => print(crate::manual::page().as_bytes()),
    }
}

fn print(text: &[u8]) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text)?;
    out.flush()?;
    Ok(())
}
