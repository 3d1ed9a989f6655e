//! The whole logs `replay` and `parse` read: a file (gzip-compressed or
//! not) or stdin, with a progress bar on a terminal, and what is said of a
//! file that holds no failed login at all, and, at a terminal, that it
//! waits for standard input.

use std::fs::File;
use std::io::{self, BufRead, BufReader};

use anyhow::{Context, Result};

use crate::config::Input;
use crate::lines::ReadStats;
use crate::notice::warn;

/// Opens a whole log for reading: a file (gzip-compressed if it ends in
/// `.gz`, as rotated logs do) or stdin. A progress bar is drawn on stderr
/// only when stderr is a terminal, so cron and pipes stay silent.
pub fn open_input(input: &Input) -> Result<Box<dyn BufRead + Send>> {
    let bar = progress_bar(input);
    let raw: Box<dyn io::Read + Send> = match input {
        Input::Stdin => {
            // Without this, a command run with no file at a terminal waits
            // in silence and looks hung.
            if io::IsTerminal::is_terminal(&io::stdin()) {
                crate::notice::say(
                    "reading the log from standard input (end with Ctrl-D); give a FILE to read one",
                );
            }
            Box::new(io::stdin())
        }
        Input::File(p) => {
            Box::new(File::open(p).with_context(|| format!("cannot open {}", p.display()))?)
        }
    };
    // The bar counts bytes read from disk, before decompression.
    let raw: Box<dyn io::Read + Send> = match bar {
        Some(bar) => Box::new(bar.wrap_read(raw)),
        None => raw,
    };
    // gzip is known by its magic bytes, not its name: `zcat`-less pipes
    // (`cat auth.log.2.gz | tweet-attacks replay`) and renamed files too.
    let mut raw = BufReader::with_capacity(1 << 20, raw);
    let head = raw
        .fill_buf()
        .with_context(|| format!("cannot read {}", input_name(input)))?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(raw),
        ))
    } else {
        Box::new(raw)
    })
}

/// A bar sized to the file (a spinner for stdin), when stderr is a terminal.
fn progress_bar(input: &Input) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !io::stderr().is_terminal() {
        return None;
    }
    let total = match input {
        Input::File(p) => std::fs::metadata(p).map(|m| m.len()).ok(),
        Input::Stdin => None,
    };
    let bar = match total {
        Some(n) => indicatif::ProgressBar::new(n).with_style(
            indicatif::ProgressStyle::with_template(
                "{msg} {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
            )
            .expect("valid template"),
        ),
        None => indicatif::ProgressBar::new_spinner(),
    };
    Some(bar.with_message(input_name(input)))
}

pub fn input_name(input: &Input) -> String {
    match input {
        Input::Stdin => "standard input".to_string(),
        Input::File(p) => p.display().to_string(),
    }
}

/// A whole file in which not one line was recognised is probably not an
/// sshd or vsftpd log at all (or one this tool cannot read yet): say so.
pub fn warn_unrecognised(what: &str, stats: &ReadStats, recognised: u64) {
    if recognised == 0 && stats.lines > 0 {
        warn(format_args!(
            "{what}: none of its {} line(s) is a failed login from sshd or vsftpd; is it their log?",
            stats.lines
        ));
    }
}
