//! The cron run's reading: each log on from its saved position, then the
//! journal from its cursor, into the table, and what is said about them
//! (truncated, replaced, missing, lines skipped, the switch to the journal
//! when the sshd log file is missing and back when it returns). A long read stops at
//! stages, each handed back to the run to save.

use std::path::Path;

use anyhow::{Result, bail};

use crate::clock::{LocalClock, Secs};
use crate::config::{FileBack, RunConfig};
use crate::ingest::ingest_all;
use crate::journal::{self, JournalSource};
use crate::lines::ReadStats;
use crate::notice::warn;
use crate::source::{self, Resume};
use crate::state::State;

/// Lines skipped for their length, said once per file.
pub fn warn_read(what: &str, stats: &ReadStats) {
    if stats.too_long > 0 {
        warn(format_args!(
            "{what}: skipped {} line(s) longer than {} KiB",
            stats.too_long,
            crate::lines::MAX_LINE / 1024
        ));
    }
}

/// Reads every log, then the journal. `stage` is called whenever a log has
/// more to read than one stage holds (`--stage-bytes`), with the table and
/// position so far: the run saves there, so that a backlog's attackers
/// leave memory.
pub fn read_logs(
    c: &RunConfig,
    st: &mut State,
    now: Secs,
    mut stage: impl FnMut(&mut State) -> Result<()>,
) -> Result<()> {
    let mut clock = LocalClock::new(now);
    if let Some(back) = &c.file_back
        && st.journal_noted
    {
        leave_journal(st, back, &mut clock, now)?;
    }
    for path in &c.logs {
        read_log(c, st, path, &mut clock, now, &mut stage)?;
    }
    let Some(src) = &c.journal else {
        return Ok(());
    };
    if c.journal_auto && !st.journal_noted {
        crate::notice::say(format_args!(
            "no sshd log file here; reading sshd from the journal with {} from now on, \
             until the log file is back",
            src.journalctl.display()
        ));
        st.journal_noted = true;
        // The file gave what came before the last run: the journal starts
        // there, not a whole look-back earlier, which would count it again.
        if let (None, Some(last)) = (&st.journal_cursor, &st.last_run) {
            let src = JournalSource {
                look_back: (now - last.started).clamp(0, src.look_back),
                ..src.clone()
            };
            return read_journal(&src, st, &mut clock, now);
        }
    }
    read_journal(src, st, &mut clock, now)
}

/// The run that finds the sshd log file back after falling back to the
/// journal: says so, once, and reads the file on from its end as it is
/// now, measured before the journal is read one last time. What the file
/// holds up to there, journald has too (the syslog daemon writes the file
/// from it), and the journal has given it or gives it now; what comes after
/// is the file's. Reading the file from its start would count again every
/// line the journal gave; starting after the journal's last time would
/// need each line's time, and a syslog time has no year or zone. A line
/// written between the two is counted twice; none is lost.
fn leave_journal(st: &mut State, back: &FileBack, clock: &mut LocalClock, now: Secs) -> Result<()> {
    // Gone again since the options were read: the next run decides.
    let Some(end) = source::at_end(&back.log)? else {
        return Ok(());
    };
    if let Some(src) = &back.journal {
        read_journal(src, st, clock, now)?;
    }
    let key = back.log.display().to_string();
    crate::notice::say(format_args!(
        "{key} is back; reading sshd from it again from now on, from its end \
         (the journal gave what it holds)"
    ));
    st.logs.insert(key, end);
    st.journal_noted = false;
    // A later fallback starts from that run's time (see `read_logs`): the
    // file gives what comes between.
    st.journal_cursor = None;
    Ok(())
}

fn read_log(
    c: &RunConfig,
    st: &mut State,
    path: &Path,
    clock: &mut LocalClock,
    now: Secs,
    stage: &mut impl FnMut(&mut State) -> Result<()>,
) -> Result<()> {
    let key = path.display().to_string();
    let mut stats = ReadStats::default();
    for n in 0.. {
        let saved = st.logs.get(&key);
        let read = ingest_all(&mut st.table, clock, now, |on_line| {
            source::read_log_upto(path, saved, c.stage_bytes, on_line)
        })?;
        let Some(read) = read else {
            if n > 0 {
                // Gone between two stages (renamed by logrotate): the
                // next run finds it wherever it went.
                break;
            }
            missing_log(c, st, path, &key, now)?;
            break;
        };
        crate::notice::ended(&mut st.notes, &format!("missing:{key}"));
        match &read.resume {
            Resume::Truncated => warn(format_args!("{key} was truncated; read from the start")),
            Resume::Replaced(lost) => warn(format_args!(
                "{key} was replaced: {lost}; read the new one from the start"
            )),
            // Rotation is routine: cron mails whatever is said, so it is not.
            Resume::New | Resume::Continue | Resume::Rotated(_) => {}
        }
        stats.lines += read.stats.lines;
        stats.too_long += read.stats.too_long;
        st.logs.insert(key.clone(), read.pos);
        if !read.more {
            break;
        }
        stage(st)?;
    }
    warn_read(&key, &stats);
    Ok(())
}

/// A log that is not there: normal (no vsftpd), routine (logrotate's
/// `nocreate` moment) or an error (named on purpose).
fn missing_log(c: &RunConfig, st: &mut State, path: &Path, key: &str, now: Secs) -> Result<()> {
    let note = format!("missing:{key}");
    // logrotate renamed it and the daemon has not made the new one
    // yet (`nocreate`): nothing is lost, the next run reads on.
    if st
        .logs
        .get(key)
        .is_some_and(|pos| source::rotated_away(path, pos))
    {
        return Ok(());
    }
    if c.explicit_logs.iter().any(|p| p == path) {
        // Named on purpose: a typo must not pass as a quiet host. Nothing is saved.
        bail!("log file {key} does not exist (named by a flag or in the --config file)");
    }
    // Many hosts have no vsftpd: its default log missing is normal.
    if key != crate::config::default_vsftpd_log() {
        crate::notice::once(
            &mut st.notes,
            &note,
            now,
            format_args!("{key} does not exist; nothing is read from it until it does"),
        );
    }
    Ok(())
}

fn read_journal(
    src: &JournalSource,
    st: &mut State,
    clock: &mut LocalClock,
    now: Secs,
) -> Result<()> {
    let cursor = st.journal_cursor.as_deref();
    let (read, fell_back) = ingest_all(&mut st.table, clock, now, |on_line| {
        journal::read_journal(src, cursor, now, on_line)
    })?;
    if fell_back {
        warn("the journal no longer has the saved cursor; read from the look-back instead");
    }
    warn_read("the journal", &read.stats);
    if read.unreadable > 0 {
        warn(format_args!(
            "the journal: skipped {} entry(ies) that {} printed in a form that could not be read",
            read.unreadable,
            src.journalctl.display()
        ));
    }
    if read.forged > 0 {
        warn(format_args!(
            "ignored {} journal attack line(s) not written by root's sshd or vsftpd (a local user can write those)",
            read.forged
        ));
    }
    if read.cursor.is_some() {
        st.journal_cursor = read.cursor;
    }
    Ok(())
}
