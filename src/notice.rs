//! What a run says on stderr besides its one error line: warnings, and lasting conditions said once.
//!
//! cron mails whatever a job writes on stderr, so a healthy run writes
//! nothing, and a condition that lasts (a missing log, a sink blocked for a
//! day) is said on the run that first sees it, remembered in the state, and
//! said again only after it has ended and come back. Writing to stderr never
//! ends a run: when cron's mailer is gone, or stderr was closed with `2>&-`,
//! the run must still save its state.

use std::collections::BTreeMap;
use std::fmt::Display;

use crate::clock::Secs;

/// One line on stderr, `tweet-attacks: warning: …`. A failed write is ignored.
pub fn warn(msg: impl Display) {
    say(format_args!("warning: {msg}"));
}

/// One line on stderr, `tweet-attacks: …`, with control, bidi and
/// zero-width characters escaped: a message may quote a log, a file name
/// or a service. A failed write is ignored.
pub fn say(msg: impl Display) {
    let _ = crate::text::put_line(
        &mut std::io::stderr().lock(),
        format_args!("tweet-attacks: {msg}"),
    );
}

/// Lasting conditions already said, by key, with the time each was first said.
pub type Notes = BTreeMap<String, Secs>;

/// Warns about a lasting condition unless it was said already; true if it was said now.
pub fn once(notes: &mut Notes, key: &str, now: Secs, msg: impl Display) -> bool {
    if notes.contains_key(key) {
        return false;
    }
    notes.insert(key.to_string(), now);
    warn(msg);
    true
}

/// The condition has ended: say it again if it comes back.
pub fn ended(notes: &mut Notes, key: &str) {
    notes.remove(key);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lasting_condition_is_said_once_until_it_ends() {
        let mut notes = Notes::new();
        assert!(once(&mut notes, "log:/var/log/vsftpd.log", 10, "missing"));
        assert!(!once(&mut notes, "log:/var/log/vsftpd.log", 20, "missing"));
        assert_eq!(notes.get("log:/var/log/vsftpd.log"), Some(&10));
        ended(&mut notes, "log:/var/log/vsftpd.log");
        assert!(once(&mut notes, "log:/var/log/vsftpd.log", 30, "missing"));
    }
}
